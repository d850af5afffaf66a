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

from lpsflow import roles
from lpsflow.calculators.base import GRAIN_BOUNDARY
from lpsflow.errors import StructureError
from lpsflow.jobs.grain_boundaries import gb_energy_job, screen_grain_boundary
from lpsflow.jobs.neb_hops import neb_hop_job
from lpsflow.jobs.reactions import job_ref
from lpsflow.structures.grain_boundaries import QUICK, GBMatch, GBSettings, gb_match

if TYPE_CHECKING:
    from jobflow import Job, Maker
    from pymatgen.core import Structure

    from lpsflow.campaign import CalculatorSettings, Campaign, NebSettings

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
    parent: Structure | None = None,
) -> Job:
    """Add screen, relax and energy jobs of one GB to the builder ``b``.

    ``bulk_a_jobs``: relaxations of grain A's bulk (Li7P3S11 for ``homo``, the core
    for ``core``/``hetero``; the lowest converged one is used); ``bulk_b_jobs``:
    grain B's (Li7P3S11, ``hetero`` only). ``miller_a``/``miller_b`` default to
    :data:`GB_MILLERS`, ``settings`` (a ``GBSettings`` or a dict of its fields,
    missing fields from ``QUICK``) to
    :data:`~lpsflow.structures.grain_boundaries.QUICK`,
    ``fmax`` to the backend's relaxation tolerance; ``parent``: the undoped host
    of a doped grain A (its symmetry decides what is no boundary). Returns the
    energy job
    (its output, a ``GBEnergyDoc``, carries the relaxed cell for :func:`add_neb`).
    """
    calc = b.c.calculator
    ma, mb = GB_MILLERS[kind]
    miller_a = tuple(miller_a or ma)
    miller_b = tuple(miller_b or mb)
    hetero = kind == "hetero"
    result = roles.gb_energy(kind, label)
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
            parent=parent,
        ),
        result.but(step="screen"),
        name=f"screen gb {words}",
    )
    maker = b.backend.relax_maker(GRAIN_BOUNDARY, relax_cell=False, fmax=fmax)
    relax = b.add(
        maker.make(scr.output.gb), result.but(step="relax"), name=f"relax gb {words}"
    )
    return b.add(
        gb_energy_job(scr.output, job_ref(relax), a_refs, b_refs),
        result,
        name=f"gb energy {words}",
        salt=False,
    )


def add_neb(
    b,
    label: str,
    path: str,
    host: Job | list[Job],
    *,
    n_hops: int = 1,
    n_images: int = 3,
    fmax: float = 0.1,
    max_steps: int = 100,
    window: float = 3.0,
    max_distance: float = 4.5,
    supercell: tuple[int, int, int] | None = None,
    min_length: float | None = None,
    phase: str | None = None,
    **neb_kwargs: Any,
) -> Job:
    """Add the NEB of ``path`` (``gb`` or ``bulk``) in ``host``'s relaxed cell.

    ``host``: for ``gb`` the energy job of :func:`add_gb_series` (its
    ``GBEnergyDoc`` holds the relaxed cell with grain labels and boundary planes);
    for ``bulk`` a bulk relaxation job, or several (the lowest converged is used).
    Hops are selected at runtime; see
    :func:`~lpsflow.jobs.neb_hops.neb_hop_job` for the other arguments. On the
    MLIP backend one job runs it with the shared model; on VASP the steps of
    :mod:`lpsflow.jobs.neb_vasp` (endpoint relaxations and the NEB with the
    settings of ``phase``: default the GB's for ``gb``, else ``Li7P3S11``).
    Either way the role ``neb:<path>:<label>`` holds a ``NebHopsDoc``.
    """
    calc = b.c.calculator
    ref = [job_ref(j) for j in host] if isinstance(host, list) else job_ref(host)
    phase = phase or (GRAIN_BOUNDARY if path == "gb" else "Li7P3S11")
    makers = b.backend.neb_makers(
        phase, fmax, max_steps, neb_kwargs.get("endpoint_fmax")
    )
    if makers is not None:  # VASP: endpoint, band and collection jobs per hop
        return _add_vasp_neb(
            b, label, path, ref, makers, n_hops=n_hops, n_images=n_images,
            fmax=fmax, max_steps=max_steps, window=window, max_distance=max_distance,
            supercell=supercell, min_length=min_length,
        )  # fmt: skip
    return b.add(
        neb_hop_job(
            label,
            path,
            ref,
            n_hops=n_hops,
            n_images=n_images,
            fmax=fmax,
            max_steps=max_steps,
            window=window,
            max_distance=max_distance,
            supercell=supercell,
            min_length=min_length,
            model=calc.screening_model,
            device=calc.device,
            **neb_kwargs,
        ),
        roles.neb(path, label),
        name=f"neb {path} {label}",
    )


def _add_vasp_neb(
    b,
    label: str,
    path: str,
    ref: Any,
    makers: tuple[Maker, Maker],
    *,
    n_hops: int,
    n_images: int,
    fmax: float,
    max_steps: int,
    window: float,
    max_distance: float,
    supercell: tuple[int, int, int] | None,
    min_length: float | None,
) -> Job:
    """Hop selection, per hop endpoint relaxes + IDPP + VASP NEB, then collect."""
    from atomate2.vasp.jobs.neb import collect_neb_output

    from lpsflow.jobs.neb import interpolate_job
    from lpsflow.jobs.neb_vasp import collect_vasp_neb, neb_endpoints_job

    result, words = roles.neb(path, label), f"{path} {label}"
    sel = b.add(
        neb_endpoints_job(
            label,
            path,
            ref,
            n_hops=n_hops,
            window=window,
            max_distance=max_distance,
            supercell=supercell,
            min_length=min_length,
        ),
        result.but(step="hops"),
        name=f"neb hops {words}",
        salt=False,
    )
    relax, images_maker = makers
    runs = []
    for k in range(n_hops):
        ends = [
            b.add(
                relax.make(sel.output.endpoints[k][i]),
                result.but(step="endpoint", index=k, part=end),
                name=f"relax neb endpoint {words} #{k} {end}",
            )
            for i, end in enumerate(("initial", "final"))
        ]
        images = b.add(
            interpolate_job([e.output.structure for e in ends], n_images),
            result.but(step="images", index=k),
            name=f"neb images {words} #{k}",
            salt=False,
        )
        band = b.add(
            images_maker.make(images.output),
            result.but(step="band", index=k),
            name=f"neb {words} #{k}",
        )
        collected = b.add(
            collect_neb_output(
                [e.output.dir_name for e in ends],
                band.output.dir_name,
                store_calculations=False,
            ),
            result.but(step="collect", index=k),
            name=f"collect neb {words} #{k}",
            salt=False,
        )
        runs.append(
            {
                "neb": collected.output,
                "images": band.output,
                "ends": [job_ref(e) for e in ends],
            }
        )
    return b.add(
        collect_vasp_neb(sel.output, runs, fmax, max_steps),
        result,
        name=f"neb {words}",
        salt=False,
    )


def neb_options(
    settings: NebSettings, path: str, calculator: CalculatorSettings | None = None
) -> dict[str, Any]:
    """:func:`add_neb` keyword arguments from the campaign's ``neb`` section.

    With ``calculator`` the endpoints are relaxed with the campaign's relaxation
    optimiser (LBFGS from a soft Hessian by default) rather than ASE's BFGS.
    """
    endpoint = {}
    if calculator is not None and calculator.backend == "mlip":
        from lpsflow.calculators.mlip import optimizer_options

        endpoint = {
            "endpoint_optimizer": calculator.optimizer,
            "endpoint_optimizer_kwargs": optimizer_options(calculator),
        }
    return {
        "n_hops": settings.n_hops,
        "n_images": settings.n_images,
        "fmax": settings.fmax,
        "max_steps": settings.max_steps,
        "window": settings.window,
        "max_distance": settings.max_distance,
        "min_length": settings.min_length if path == "bulk" else None,
        "endpoint_fmax": settings.endpoint_fmax,
        "endpoint_steps": settings.endpoint_steps,
        "optimizer": settings.optimizer,
        **endpoint,
    }


def check_grain_boundaries(campaign: Campaign) -> dict[str, GBMatch]:
    """Coincidence cells of the campaign's GBs on the starting structures.

    Like :func:`lpsflow.flows.interfaces.check_lattice_matches`: a plane or
    misorientation with no coincidence cell within the limits becomes one clear
    error before anything runs (the jobs match the relaxed bulks later). Raises
    ``StructureError`` naming the settings to change.
    """
    from lpsflow.flows.interfaces import doped_stand_in
    from lpsflow.structures.library import load_structure

    gbs = campaign.grain_boundaries
    if not gbs.enabled or not campaign.accelerants:
        return {}
    overrides = campaign.structure_overrides
    li7 = load_structure("Li7P3S11", overrides)
    core = doped_stand_in(campaign, campaign.gb_core_x)
    host = load_structure("Li3PS4", overrides)
    out = {}
    for kind in gbs.kinds:
        st = getattr(gbs, kind)
        ma, mb = GB_MILLERS[kind]
        ma, mb = tuple(st.miller_a or ma), tuple(st.miller_b or mb)
        a = li7 if kind == "homo" else core
        b_bulk, b_miller = (li7, mb) if kind == "hetero" else (None, None)
        try:
            out[kind] = gb_match(
                a, ma, b_bulk, b_miller, twist=st.twist, flip=st.flip,
                max_area=st.max_area, max_strain=st.max_strain,
                max_length_tol=st.max_length_tol, max_angle_tol=st.max_angle_tol,
                max_area_ratio_tol=st.max_area_ratio_tol,
                parent=host if kind == "core" else None,
            )  # fmt: skip
        except StructureError as exc:
            raise StructureError(
                f"grain_boundaries.{kind}: {exc}; change grain_boundaries.{kind}."
                "miller_a/miller_b or twist, or relax max_area / max_strain (or the "
                "ZSL tolerances) in the campaign file"
            ) from exc
    return out


def check_hops(campaign: Campaign) -> int:
    """Hop selection on the starting structures before anything runs.

    The ``bulk`` path is tried in bulk Li7P3S11 and the doped core's stand-in,
    the ``gb`` path in the unshifted homo GB (when the campaign computes it).
    A request no hop satisfies (``max_distance``, ``window``) becomes one clear
    error naming the settings, instead of failed NEB jobs after the GBs ran.
    Returns the number of hosts checked.
    """
    from lpsflow.flows.interfaces import doped_stand_in
    from lpsflow.jobs.neb_hops import NEB_PATHS
    from lpsflow.structures.grain_boundaries import build_with_settings
    from lpsflow.structures.hops import select_hops
    from lpsflow.structures.library import load_structure

    neb, gbs = campaign.neb, campaign.grain_boundaries
    if not neb.enabled or not campaign.accelerants:
        return 0
    li7 = load_structure("Li7P3S11", campaign.structure_overrides)
    hosts = []
    if "bulk" in neb.paths:
        x = campaign.gb_core_x
        hosts += [
            ("bulk", "Li7P3S11", li7),
            ("bulk", "core", doped_stand_in(campaign, x)),
        ]
    if "gb" in neb.paths and gbs.enabled and "homo" in gbs.kinds:
        st = gbs.homo
        cell = build_with_settings(
            li7, st.miller_a or GB_MILLERS["homo"][0], None, None,
            st.builder_settings(), shift_grid=[(0.0, 0.0)], kind="homo",
        ).cells[0]  # fmt: skip
        hosts.append(("gb", "Li7P3S11 homo GB", cell))
    for path, what, cell in hosts:
        sel = NEB_PATHS[path]
        try:
            select_hops(
                cell, n=neb.n_hops, region=sel["region"], window=neb.window,
                max_distance=neb.max_distance, across=sel["across"],
            )  # fmt: skip
        except StructureError as exc:
            raise StructureError(
                f"neb ({path} path, {what}): {exc}; raise neb.max_distance"
                + (" or neb.window" if path == "gb" else "")
                + " in the campaign file"
            ) from exc
    return len(hosts)
