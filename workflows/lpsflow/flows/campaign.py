"""The campaign flow: the shared relaxations, then each descriptor's jobs.

Shared by every descriptor (computed once per campaign, and reused across campaigns
with the same calculator settings thanks to content-addressed job ids): the relaxed
precursors Li2S, P2S5 (P4S10), S8, bcc Li, the products Li3PS4, Li7P3S11, Li4P2S6
and each accelerant; per accelerant, scheme and x on request, the doped core cells
(symmetry-distinct arrangements, pre-ranked by Ewald energy at build time, single
points on the best ``screen_top``, full relaxation of the lowest ``relax_top``).

Each descriptor's folder adds its own jobs (:attr:`Descriptor.build
<lpsflow.descriptors.base.Descriptor.build>`): reaction energies, solubility
series, hetero/homo interface series, mu_Li, grain boundaries, NEB hops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Job, Maker

from lpsflow import roles
from lpsflow.calculators import get_backend
from lpsflow.calculators.base import DOPED_CORE
from lpsflow.descriptors.reactions.jobs import phase_input
from lpsflow.flows.book import JobBook
from lpsflow.flows.doping import DopedCellsMaker
from lpsflow.roles import Role, x_label
from lpsflow.structures.accelerant import (
    Accelerant,
    parse_accelerant,
    same_composition,
)
from lpsflow.structures.library import load_structure

if TYPE_CHECKING:
    from pymatgen.core import Structure

    from lpsflow.calculators.base import Backend
    from lpsflow.campaign import Campaign

#: Phases every campaign needs, whatever the accelerants.
SHARED_PHASES = ("Li2S", "P2S5", "S", "Li", "Li3PS4", "Li7P3S11", "Li4P2S6")

#: Reference phases relaxed in their primitive cell (only energies per atom matter;
#: S8 goes from 128 to 32 atoms). Products keep the bundled cell, whose axes name
#: the study's surfaces.
PRIMITIVE_PHASES = ("Li2S", "P2S5", "S", "Li")


@dataclass
class CampaignFlow:
    """The campaign's jobs and the role of each.

    The jobs are wrapped in a jobflow :class:`Flow` on first use of :attr:`flow`;
    :meth:`subflow` wraps a subset instead (a job belongs to one flow only), e.g. the
    jobs a cluster submission still has to add.
    """

    name: str
    jobs: list[Job]
    roles: dict[str, str] = field(default_factory=dict)
    """Role (e.g. ``reaction:core:Al2S3:Li-site``) -> job uuid."""
    salt: Any = None
    """The calculator's salt of the calculation jobs' ids."""
    analysis: set[str] = field(default_factory=set)
    """Uuids of the analysis jobs (keyed without the salt)."""
    maker_names: dict[str, str] = field(default_factory=dict)
    """Uuid -> its maker's name as the job was made (lpsflow 0.1.0's ids)."""
    matches: dict[str, Any] = field(default_factory=dict)
    """Pre-flight lattice matches and GB coincidences on the starting structures."""

    @cached_property
    def flow(self) -> Flow:
        """All jobs as one flow."""
        return Flow(self.jobs, name=self.name)

    def subflow(self, uuids: set[str]) -> Flow:
        """A flow of the jobs whose uuid is in ``uuids`` (others become external)."""
        return Flow([j for j in self.jobs if j.uuid in uuids], name=self.name)

    def role_of(self, uuid: str) -> str | None:
        """The role of a job uuid."""
        return next((r for r, u in self.roles.items() if u == uuid), None)


@dataclass
class CampaignMaker(Maker):
    """Build the whole screening flow of a campaign.

    Parameters
    ----------
    name
        Flow name.
    campaign
        The validated campaign definition.

    """

    name: str = "lpsflow campaign"
    campaign: Campaign | None = None

    def make(self) -> Flow:
        """The campaign's flow (see :func:`build_campaign` for the job roles)."""
        return build_campaign(self.campaign).flow


class CampaignBuild:
    """A campaign being built: what every descriptor's build step works from.

    Holds the campaign's settings, its calculator backend, the :class:`JobBook` every
    job goes into, and the jobs shared by descriptors: the relaxed phases
    (:attr:`relaxed`) and the relaxed doped cells of each accelerant, scheme and x
    (:meth:`doped_cells`, built on first request). A descriptor's build step
    (:attr:`lpsflow.descriptors.base.Descriptor.build`) reads its own settings from
    :attr:`campaign`, builds its Makers and adds their jobs; it finds another
    descriptor's jobs by role (:meth:`output`).
    """

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self.backend: Backend = get_backend(campaign.calculator)
        self.book = JobBook(salt=self.backend.describe())
        calc = campaign.calculator
        self.mlip = {"screening_model": calc.screening_model, "device": calc.device}
        """The single-point model settings every screening Maker takes."""
        self.accelerants: list[Accelerant] = [
            parse_accelerant(f) for f in campaign.accelerants
        ]
        self.relaxed: dict[str, Job] = {}
        """Phase -> its relaxation (the shared phases and the accelerants)."""
        self._cells: dict[tuple[str, str, float], tuple[str, list[Job]]] = {}

    def structure(self, phase: str) -> Structure:
        """The starting structure of a phase (bundled or the campaign's override)."""
        return load_structure(phase, self.campaign.structure_overrides)

    def relax(self, phase: str, primitive: bool = False) -> Job:
        """The relaxation of ``phase`` (added once)."""
        if phase not in self.relaxed:
            structure = self.structure(phase)
            if primitive:
                structure = structure.get_primitive_structure()
            job = self.backend.relax_maker(phase).make(structure)
            self.relaxed[phase] = self.book.add(
                job, roles.relax(phase), name=f"relax {phase}"
            )
        return self.relaxed[phase]

    def species(self, phase: str) -> dict:
        """A relaxed phase as a reaction or hull species."""
        return phase_input(phase, phase, [self.relaxed[phase]])

    def output(self, role: Role) -> Any | None:
        """The output of the job with ``role`` (None: the campaign has none)."""
        job = self.book.job(role)
        return None if job is None else job.output

    def schemes(self, acc: Accelerant) -> list[str]:
        """The doping schemes computed for ``acc`` (``doping.schemes`` it allows)."""
        possible = [s.name for s in acc.schemes]
        return [s for s in self.campaign.doping.schemes or possible if s in possible]

    def series(self, acc: Accelerant, scheme: str) -> list[dict]:
        """The doped cells at ``doping.x`` and every ``doping.solubility_x``.

        One :func:`~lpsflow.descriptors.reactions.jobs.phase_input` per x (its
        candidates: the relaxed arrangements), with an extra key ``x``.
        """
        doping = self.campaign.doping
        out = []
        for x in sorted({*doping.solubility_x, doping.x}):
            formula, relaxes = self.doped_cells(acc, scheme, x)
            label = f"core {acc.formula} {scheme} x={x_label(x)}"
            out.append({**phase_input(label, formula, relaxes), "x": x})
        return out

    def core_scheme(self, acc: Accelerant) -> str:
        """The scheme of the doped core that hosts interfaces, GBs and vacancies.

        ``interfaces.scheme``, else the first scheme the campaign computes.
        """
        possible = [s.name for s in acc.schemes]
        return self.campaign.interfaces.scheme or next(
            iter(self.schemes(acc)), possible[0]
        )

    def core_cells(self, acc: Accelerant, x: float) -> tuple[str, list[Job]]:
        """(scheme, relaxed doped cells) of the core at ``x`` (no cells: impossible).

        The scheme is :meth:`core_scheme`; a P-site core of a 3+ cation has none.
        Unless ``interfaces.scheme`` names one, the cells of the campaign's other
        schemes of the same composition (Li-site and empty-site) come too, so the
        job that takes them uses the lowest of either: the scheme that wins; the
        scheme returned then names both (``Li-site/empty-site``).
        """
        scheme = self.core_scheme(acc)
        if scheme not in [s.name for s in acc.schemes]:
            return scheme, []
        pooled = [scheme]
        if self.campaign.interfaces.scheme is None:
            computed = self.schemes(acc)
            pooled += [s for s in same_composition(scheme)[1:] if s in computed]
        cells = [cell for s in pooled for cell in self.doped_cells(acc, s, x)[1]]
        return "/".join(pooled), cells

    def doped_cells(
        self, acc: Accelerant, scheme: str, x: float
    ) -> tuple[str, list[Job]]:
        """The doped cells at one x: their formula and relaxations (built once).

        At the campaign's ``doping.x``, for a scheme it computes, the cells use
        ``doping.supercell`` and roles without x; elsewhere the smallest supercell
        for x and roles naming x.
        """
        key = (acc.formula, scheme, x)
        if key not in self._cells:
            doping = self.campaign.doping
            main = x == doping.x and scheme in self.schemes(acc)
            maker = DopedCellsMaker(
                screen_top=doping.screen_top,
                relax_top=doping.relax_top,
                max_enumerate=doping.max_enumerate,
                screen_patience=doping.screen_patience,
                screen_max=doping.screen_max,
                relax_maker=self.backend.relax_maker(DOPED_CORE),
                **self.mlip,
            )
            out = self.book.take(
                maker.make(
                    acc,
                    scheme,
                    x,
                    self.structure("Li3PS4"),
                    self.relax("Li3PS4"),
                    supercell=doping.supercell if main else None,
                    x_label="" if main else x_label(x),
                )
            )
            self._cells[key] = out["formula"], out["relaxed"]
        return self._cells[key]


def build_campaign(
    campaign: Campaign, check: bool = True, rounds: bool = True
) -> CampaignFlow:
    """Build the campaign's flow; every job gets a content-derived uuid.

    The shared phases and the accelerants are relaxed first; then each descriptor
    of :data:`lpsflow.descriptors.DESCRIPTORS` adds its jobs
    (:func:`lpsflow.descriptors.build_order`).

    ``check``: first the pre-flight checks of :func:`lpsflow.flows.preflight.check`
    (lattice matches, GB coincidences, NEB hops on the starting structures): one
    clear :class:`~lpsflow.errors.StructureError` instead of jobs that fail hours
    later. Their results are :attr:`CampaignFlow.matches`. ``rounds``: with
    ``sampling.mode: adaptive``, each accelerant's first round of sampling
    (:mod:`lpsflow.sampling.rounds`) last.
    """
    from lpsflow.descriptors import build_order
    from lpsflow.flows.preflight import check as preflight

    matches = preflight(campaign) if check else {}
    b = CampaignBuild(campaign)
    with b.book.active():
        for phase in SHARED_PHASES:
            b.relax(phase, primitive=phase in PRIMITIVE_PHASES)
        for acc in b.accelerants:
            b.relax(acc.formula, primitive=True)
        for descriptor in build_order():
            if descriptor.build is not None:
                descriptor.build(b)
        if rounds and campaign.sampling.mode == "adaptive":
            from lpsflow.sampling.rounds import first_rounds

            first_rounds(b)
    return CampaignFlow(
        name=f"lpsflow {campaign.name}",
        jobs=b.book.jobs,
        roles=b.book.roles,
        salt=b.book.salt,
        analysis=b.book.analysis,
        maker_names=b.book.maker_names,
        matches=matches,
    )
