"""The migration branch: climbing-image NEB of Li hops (SCIENCE.md 8).

Per NEB path (``gb``: along the boundary in the relaxed GB cell; ``bulk``: in a
relaxed bulk cell): ``neb:<path>:<label>``, the MLIP climbing-image NEB of the
automatically selected hop(s).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Maker, OutputReference

from lpsflow import roles
from lpsflow.calculators.base import GRAIN_BOUNDARY
from lpsflow.campaign_branches import MAX_SPANNING_HOPS
from lpsflow.descriptors.grain_boundaries.flow import GB_MILLERS
from lpsflow.descriptors.migration.jobs import HopRequest, neb_hop_job
from lpsflow.descriptors.reactions.jobs import job_ref
from lpsflow.errors import ConfigError, StructureError
from lpsflow.flows.book import JobBook, current_book

if TYPE_CHECKING:
    from jobflow import Job

    from lpsflow.calculators.base import Backend
    from lpsflow.campaign import CalculatorSettings, Campaign
    from lpsflow.campaign_branches import NebSettings


@dataclass
class NebMaker(Maker):
    """Li vacancy hops of one path, selected at runtime, and their NEB barriers.

    With ``band_maker`` None (the MLIP backend) one job runs every hop with the
    shared model (:func:`~lpsflow.descriptors.migration.jobs.neb_hop_job`); with
    VASP makers, the steps of :mod:`lpsflow.descriptors.migration.vasp`: hop
    selection, per hop the endpoint relaxations, IDPP images, the band and its
    collection, then one ``NebHopsDoc``.

    Parameters
    ----------
    name
        Flow name.
    path
        ``gb`` (along the boundary, in a GB cell) or ``bulk``.
    n_hops, window, max_distance, supercell, min_length
        Hop selection (:func:`~lpsflow.structures.hops.select_hops`) and the
        supercell of bulk hops; ``n_hops="spanning"``: classes whose hops span
        the cell and the shortest
        (:func:`~lpsflow.descriptors.migration.jobs.classes_needed`; MLIP only).
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
    n_hops: int | str = 1
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
                    hops=self._hops(),
                    **self.options,
                ),
                roles.neb(self.path, label),
                name=f"neb {self.path} {label}",
            )
        return b.flow_since(start, out.output, f"{self.name} {self.path} {label}")

    def _hops(self) -> HopRequest:
        """What selects the hops (of both NEB paths' first job)."""
        spanning = self.n_hops == "spanning"
        return HopRequest(
            n_hops=MAX_SPANNING_HOPS if spanning else int(self.n_hops),
            spanning=spanning,
            window=self.window,
            max_distance=self.max_distance,
            supercell=self.supercell,
            min_length=self.min_length,
        )

    def _vasp(self, b: JobBook, label: str, ref: Any) -> Job:
        """Hop selection, per hop endpoint relaxes + IDPP + VASP NEB, then collect."""
        from atomate2.vasp.jobs.neb import collect_neb_output

        from lpsflow.descriptors.migration.neb import interpolate_job
        from lpsflow.descriptors.migration.vasp import (
            collect_vasp_neb,
            neb_endpoints_job,
        )

        if self.n_hops == "spanning":
            raise ConfigError(
                "neb.n_hops: spanning runs on the MLIP backend (the number of VASP "
                "NEBs is fixed before the hosts relax); give a number"
            )
        result, words = roles.neb(self.path, label), f"{self.path} {label}"
        sel = b.add(
            neb_endpoints_job(label, self.path, ref, hops=self._hops()),
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


def check_hops(campaign: Campaign) -> int:
    """Hop selection on the starting structures before anything runs.

    The ``bulk`` path is tried in bulk Li7P3S11 and the doped core's stand-in,
    the ``gb`` path in the unshifted homo GB (when the campaign computes it).
    A request no hop satisfies (``max_distance``, ``window``) becomes one clear
    error naming the settings, instead of failed NEB jobs after the GBs ran.
    Returns the number of hosts checked.
    """
    from lpsflow.descriptors.binding.flow import doped_stand_in
    from lpsflow.descriptors.migration.jobs import NEB_PATHS
    from lpsflow.structures.grain_boundaries import build_with_settings
    from lpsflow.structures.hops import select_hops
    from lpsflow.structures.library import load_structure

    neb, gbs = campaign.neb, campaign.grain_boundaries
    if not neb.enabled or not campaign.accelerants:
        return 0
    li7 = load_structure("Li7P3S11", campaign.structure_overrides)
    hosts = []
    if "bulk" in neb.paths:
        x = campaign.neb_core_x
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
                cell, n=1 if neb.n_hops == "spanning" else neb.n_hops,
                region=sel["region"], window=neb.window,
                max_distance=neb.max_distance, across=sel["across"],
            )  # fmt: skip
        except StructureError as exc:
            raise StructureError(
                f"neb ({path} path, {what}): {exc}; raise neb.max_distance"
                + (" or neb.window" if path == "gb" else "")
                + " in the campaign file"
            ) from exc
    return len(hosts)
