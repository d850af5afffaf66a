"""Grain-boundary and migration-barrier branch of the campaign (SCIENCE.md 6, 8).

Per GB (``kind`` homo / core / hetero, one ``label``), with roles:

* ``screen:gb:<kind>:<label>``: build the bicrystal cells on the relaxed bulk(s)
  over the shift grid, MLIP single points, keep the lowest;
* ``relax:gb:<kind>:<label>``: the chosen cell, cell fixed (phase
  :data:`~lpsflow.calculators.base.GRAIN_BOUNDARY`: VASP uses the study's 2x2x1
  mesh);
* ``gb:<kind>:<label>``: gamma_GB from the relaxed GB and bulk energies.

Per NEB path (``gb``: along the boundary in the relaxed GB cell; ``bulk``: in a
relaxed bulk cell): ``neb:<path>:<label>``, the MLIP climbing-image NEB of the
automatically selected hop(s).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from lpsflow.calculators.base import GRAIN_BOUNDARY
from lpsflow.jobs.grain_boundaries import gb_energy_job, screen_grain_boundary
from lpsflow.jobs.neb_hops import neb_hop_job
from lpsflow.jobs.reactions import job_ref
from lpsflow.structures.grain_boundaries import QUICK, GBSettings

if TYPE_CHECKING:
    from jobflow import Job

#: Default boundary planes per kind: (grain A, grain B).
GB_MILLERS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "homo": ((0, 1, 0), (0, 1, 0)),  # Li7P3S11 (010) / Li7P3S11 (010)
    "core": ((1, 0, 0), (1, 0, 0)),  # core (100) / core (100)
    "hetero": ((1, 0, 0), (0, 1, 0)),  # core (100) / Li7P3S11 (010)
}


def _settings(kind: str, settings: GBSettings | dict | None) -> dict[str, Any]:
    if settings is None:
        settings = QUICK[kind]
    if isinstance(settings, GBSettings):
        settings = asdict(settings)
    out = {**asdict(QUICK[kind]), **dict(settings)}
    out["shift_grid"] = list(out["shift_grid"])
    return out


def add_gb_series(
    b,
    kind: str,
    label: str,
    bulk_a_jobs: list[Job],
    bulk_b_jobs: list[Job] | None = None,
    *,
    miller_a: tuple[int, int, int] | None = None,
    miller_b: tuple[int, int, int] | None = None,
    settings: GBSettings | dict | None = None,
    fmax: float | None = None,
) -> Job:
    """Add screen, relax and energy jobs of one GB to the builder ``b``.

    ``bulk_a_jobs``: relaxations of grain A's bulk (Li7P3S11 for ``homo``, the core
    for ``core``/``hetero``; the lowest converged one is used); ``bulk_b_jobs``:
    grain B's (Li7P3S11, ``hetero`` only). ``miller_a``/``miller_b`` default to
    :data:`GB_MILLERS`, ``settings`` (a ``GBSettings`` or a dict of its fields,
    missing fields from ``QUICK``) to
    :data:`~lpsflow.structures.grain_boundaries.QUICK`,
    ``fmax`` to the backend's relaxation tolerance. Returns the energy job
    (its output, a ``GBEnergyDoc``, carries the relaxed cell for :func:`add_neb`).
    """
    calc = b.c.calculator
    ma, mb = GB_MILLERS[kind]
    miller_a = tuple(miller_a or ma)
    miller_b = tuple(miller_b or mb)
    hetero = kind == "hetero"
    tag = f"{kind}:{label}"
    words = f"{kind} {label}"
    a_refs = [job_ref(j) for j in bulk_a_jobs]
    b_refs = [job_ref(j) for j in bulk_b_jobs] if hetero and bulk_b_jobs else None
    scr = b.add(
        screen_grain_boundary(
            kind,
            label,
            a_refs,
            b_refs,
            miller_a,
            miller_b if hetero else None,
            _settings(kind, settings),
            model=calc.screening_model,
            device=calc.device,
        ),
        f"screen:gb:{tag}",
        name=f"screen gb {words}",
    )
    maker = b.backend.relax_maker(GRAIN_BOUNDARY, relax_cell=False, fmax=fmax)
    relax = b.add(
        maker.make(scr.output.gb), f"relax:gb:{tag}", name=f"relax gb {words}"
    )
    return b.add(
        gb_energy_job(scr.output, job_ref(relax), a_refs, b_refs),
        f"gb:{tag}",
        name=f"gb energy {words}",
        salt=False,
    )


def add_neb(
    b,
    label: str,
    path: str,
    host_job: Job,
    *,
    n_hops: int = 1,
    n_images: int = 3,
    fmax: float = 0.1,
    max_steps: int = 100,
    window: float = 3.0,
    max_distance: float = 4.5,
    supercell: tuple[int, int, int] | None = None,
    **neb_kwargs: Any,
) -> Job:
    """Add the NEB of ``path`` (``gb`` or ``bulk``) in ``host_job``'s relaxed cell.

    ``host_job``: for ``gb`` the energy job of :func:`add_gb_series` (its
    ``GBEnergyDoc`` holds the relaxed cell with grain labels and boundary planes);
    for ``bulk`` a bulk relaxation job. Hops are selected at runtime; see
    :func:`~lpsflow.jobs.neb_hops.neb_hop_job` for the other arguments. The NEB
    runs on the shared MLIP (``b.c.calculator.screening_model``) whatever the
    backend.
    """
    calc = b.c.calculator
    return b.add(
        neb_hop_job(
            label,
            path,
            job_ref(host_job),
            n_hops=n_hops,
            n_images=n_images,
            fmax=fmax,
            max_steps=max_steps,
            window=window,
            max_distance=max_distance,
            supercell=supercell,
            model=calc.screening_model,
            device=calc.device,
            **neb_kwargs,
        ),
        f"neb:{path}:{label}",
        name=f"neb {path} {label}",
    )
