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

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Maker, OutputReference

from lpsflow import roles
from lpsflow.calculators.base import GRAIN_BOUNDARY
from lpsflow.errors import StructureError
from lpsflow.flows.book import JobBook, current_book
from lpsflow.jobs.grain_boundaries import gb_energy_job, screen_grain_boundary
from lpsflow.jobs.neb_hops import neb_hop_job
from lpsflow.jobs.reactions import job_ref
from lpsflow.structures.gb_match import GBMatch, gb_match
from lpsflow.structures.grain_boundaries import QUICK, GBSettings

if TYPE_CHECKING:
    from jobflow import Job
    from pymatgen.core import Structure

    from lpsflow.calculators.base import Backend
    from lpsflow.campaign import CalculatorSettings, Campaign
    from lpsflow.campaign_branches import NebSettings

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


@dataclass
class GrainBoundaryMaker(Maker):
    """One grain boundary: screen the rigid shifts, relax the best, its energy.

    Parameters
    ----------
    name
        Flow name.
    kind
        ``homo`` (Li7P3S11/Li7P3S11), ``core`` (core/core) or ``hetero``
        (core/Li7P3S11).
    miller_a, miller_b
        Boundary planes of grain A and B (default :data:`GB_MILLERS`).
    settings
        Builder settings (a ``GBSettings`` or a dict of its fields; missing fields
        from :data:`~lpsflow.structures.grain_boundaries.QUICK`).
    relax_maker
        Relaxation of the GB cell (cell fixed).
    screening_model, device
        MLIP of the single-point screen and where it runs.

    """

    name: str = "grain boundary"
    kind: str = "homo"
    miller_a: tuple[int, int, int] | None = None
    miller_b: tuple[int, int, int] | None = None
    settings: GBSettings | dict | None = None
    relax_maker: Maker | None = None
    screening_model: str = "CHGNet"
    device: str = "cpu"

    def make(
        self,
        label: str,
        bulk_a: list[Job | OutputReference],
        bulk_b: list[Job | OutputReference] | None = None,
        parent: Structure | None = None,
    ) -> Flow:
        """Screen, relax and energy jobs; the output is the energy job's.

        ``bulk_a``: relaxations of grain A's bulk (Li7P3S11 for ``homo``, the core
        otherwise; the lowest converged is used); ``bulk_b``: grain B's (Li7P3S11,
        ``hetero`` only); ``parent``: the undoped host of a doped grain A (its
        symmetry decides what is no boundary). The output, a ``GBEnergyDoc``,
        carries the relaxed cell for :class:`NebMaker`.
        """
        b = current_book()
        start = len(b.jobs)
        kind = self.kind
        ma, mb = GB_MILLERS[kind]
        miller_a = tuple(self.miller_a or ma)
        miller_b = tuple(self.miller_b or mb)
        hetero = kind == "hetero"
        result = roles.gb_energy(kind, label)
        words = f"{kind} {label}"
        a_refs = [job_ref(j) for j in bulk_a]
        b_refs = [job_ref(j) for j in bulk_b] if hetero and bulk_b else None
        scr = b.add(
            screen_grain_boundary(
                kind,
                label,
                a_refs,
                b_refs,
                miller_a,
                miller_b if hetero else None,
                _settings(kind, self.settings),
                model=self.screening_model,
                device=self.device,
                parent=parent,
            ),
            result.but(step="screen"),
            name=f"screen gb {words}",
        )
        relax = b.add(
            self.relax_maker.make(scr.output.gb),
            result.but(step="relax"),
            name=f"relax gb {words}",
        )
        energy = b.add(
            gb_energy_job(scr.output, job_ref(relax), a_refs, b_refs),
            result,
            name=f"gb energy {words}",
            salt=False,
        )
        return b.flow_since(start, energy.output, f"{self.name} {words}")


@dataclass
class NebMaker(Maker):
    """Li vacancy hops of one path, selected at runtime, and their NEB barriers.

    With ``band_maker`` None (the MLIP backend) one job runs every hop with the
    shared model (:func:`~lpsflow.jobs.neb_hops.neb_hop_job`); with VASP makers,
    the steps of :mod:`lpsflow.jobs.neb_vasp`: hop selection, per hop the endpoint
    relaxations, IDPP images, the band and its collection, then one ``NebHopsDoc``.

    Parameters
    ----------
    name
        Flow name.
    path
        ``gb`` (along the boundary, in a GB cell) or ``bulk``.
    n_hops, window, max_distance, supercell, min_length
        Hop selection (:func:`~lpsflow.structures.hops.select_hops`) and the
        supercell of bulk hops.
    n_images, fmax, max_steps
        Intermediate images, force tolerance (eV/A) and steps of the band.
    options
        Further keywords of the MLIP NEB job (endpoint tolerance and steps, the
        optimisers), passed as given.
    endpoint_maker, band_maker
        VASP endpoint relaxation and NEB makers (None: the MLIP path).
    screening_model, device
        MLIP of the NEB job and where it runs.

    """

    name: str = "neb"
    path: str = "bulk"
    n_hops: int = 1
    n_images: int = 3
    fmax: float = 0.1
    max_steps: int = 100
    window: float = 3.0
    max_distance: float = 4.5
    supercell: tuple[int, int, int] | None = None
    min_length: float | None = None
    options: dict[str, Any] = field(default_factory=dict)
    endpoint_maker: Maker | None = None
    band_maker: Maker | None = None
    screening_model: str = "CHGNet"
    device: str = "cpu"

    def make(self, label: str, host: Job | OutputReference | list) -> Flow:
        """The NEB of ``path`` in ``host``'s relaxed cell; output: a NebHopsDoc.

        ``host``: for ``gb`` the output of a :class:`GrainBoundaryMaker` (its
        ``GBEnergyDoc`` holds the relaxed cell with grain labels and boundary
        planes); for ``bulk`` a bulk relaxation, or several (the lowest converged
        is used).
        """
        b = current_book()
        start = len(b.jobs)
        ref = [job_ref(j) for j in host] if isinstance(host, list) else job_ref(host)
        if self.band_maker is not None:
            out = self._vasp(b, label, ref)
        else:
            out = b.add(
                neb_hop_job(
                    label,
                    self.path,
                    ref,
                    n_images=self.n_images,
                    fmax=self.fmax,
                    max_steps=self.max_steps,
                    model=self.screening_model,
                    device=self.device,
                    **self._hops(),
                    **self.options,
                ),
                roles.neb(self.path, label),
                name=f"neb {self.path} {label}",
            )
        return b.flow_since(start, out.output, f"{self.name} {self.path} {label}")

    def _hops(self) -> dict[str, Any]:
        """What selects the hops (keywords of both NEB paths' first job)."""
        return {
            "n_hops": self.n_hops,
            "window": self.window,
            "max_distance": self.max_distance,
            "supercell": self.supercell,
            "min_length": self.min_length,
        }

    def _vasp(self, b: JobBook, label: str, ref: Any) -> Job:
        """Hop selection, per hop endpoint relaxes + IDPP + VASP NEB, then collect."""
        from atomate2.vasp.jobs.neb import collect_neb_output

        from lpsflow.jobs.neb import interpolate_job
        from lpsflow.jobs.neb_vasp import collect_vasp_neb, neb_endpoints_job

        result, words = roles.neb(self.path, label), f"{self.path} {label}"
        sel = b.add(
            neb_endpoints_job(label, self.path, ref, **self._hops()),
            result.but(step="hops"),
            name=f"neb hops {words}",
            salt=False,
        )
        runs = []
        for k in range(self.n_hops):
            ends = [
                b.add(
                    self.endpoint_maker.make(sel.output.endpoints[k][i]),
                    result.but(step="endpoint", index=k, part=end),
                    name=f"relax neb endpoint {words} #{k} {end}",
                )
                for i, end in enumerate(("initial", "final"))
            ]
            images = b.add(
                interpolate_job([e.output.structure for e in ends], self.n_images),
                result.but(step="images", index=k),
                name=f"neb images {words} #{k}",
                salt=False,
            )
            band = b.add(
                self.band_maker.make(images.output),
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
            collect_vasp_neb(sel.output, runs, self.fmax, self.max_steps),
            result,
            name=f"neb {words}",
            salt=False,
        )


def neb_maker(
    settings: NebSettings,
    path: str,
    calculator: CalculatorSettings,
    backend: Backend,
    phase: str | None = None,
) -> NebMaker:
    """The :class:`NebMaker` of one path from the campaign's ``neb`` section.

    ``phase``: whose VASP settings the endpoints and band use (default the GB's for
    ``gb``, else ``Li7P3S11``). On the MLIP backend the endpoints are relaxed with
    the campaign's relaxation optimiser (LBFGS from a soft Hessian by default)
    rather than ASE's BFGS.
    """
    phase = phase or (GRAIN_BOUNDARY if path == "gb" else "Li7P3S11")
    options: dict[str, Any] = {
        "endpoint_fmax": settings.endpoint_fmax,
        "endpoint_steps": settings.endpoint_steps,
        "optimizer": settings.optimizer,
    }
    if calculator.backend == "mlip":
        from lpsflow.calculators.mlip import optimizer_options

        options["endpoint_optimizer"] = calculator.optimizer
        options["endpoint_optimizer_kwargs"] = optimizer_options(calculator)
    makers = backend.neb_makers(
        phase, settings.fmax, settings.max_steps, settings.endpoint_fmax
    )
    endpoint, band = makers if makers is not None else (None, None)
    return NebMaker(
        path=path,
        n_hops=settings.n_hops,
        n_images=settings.n_images,
        fmax=settings.fmax,
        max_steps=settings.max_steps,
        window=settings.window,
        max_distance=settings.max_distance,
        min_length=settings.min_length if path == "bulk" else None,
        options=options,
        endpoint_maker=endpoint,
        band_maker=band,
        screening_model=calculator.screening_model,
        device=calculator.device,
    )


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
