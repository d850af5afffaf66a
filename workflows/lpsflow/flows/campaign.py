"""The campaign flow: shared work once, then one branch per accelerant.

Shared by all accelerants (computed once per campaign, and reused across campaigns
with the same calculator settings thanks to content-addressed job ids):
relaxed precursors Li2S, P2S5 (P4S10), S8, bcc Li; products Li3PS4, Li7P3S11, Li4P2S6;
their reaction energies.

Per accelerant MxSy: its relaxation; per charge-compensation scheme, the doped core
cells (symmetry-distinct arrangements, pre-ranked by Ewald energy at build time,
single points on the best ``screen_top``, full relaxation of the lowest ``relax_top``)
and the core's reaction energy from the precursors; the solubility series; the
hetero interface series, mu_Li of the core, the core/core and core/Li7P3S11 grain
boundaries, the Li sites near the hetero GB and the NEB hops along that GB and in
the core.

Shared references, once: the homo interface series, mu_Li of Li7P3S11, the
Li7P3S11 homo GB and the Li7P3S11 hops (along the homo GB and in bulk).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Job, Maker

from lpsflow import roles
from lpsflow.calculators import get_backend
from lpsflow.calculators.base import DOPED_CORE, GRAIN_BOUNDARY
from lpsflow.flows.book import JobBook
from lpsflow.flows.doping import DopedCellsMaker
from lpsflow.flows.grain_boundaries import GrainBoundaryMaker, NebMaker, neb_maker
from lpsflow.flows.interfaces import binding_series_maker
from lpsflow.flows.vacancies import ChemicalPotentialMaker
from lpsflow.jobs.reactions import phase_input, reaction_energy_job
from lpsflow.jobs.solubility import solubility_job
from lpsflow.roles import Role, x_label
from lpsflow.structures.accelerant import Accelerant, parse_accelerant
from lpsflow.structures.library import load_structure

if TYPE_CHECKING:
    from lpsflow.calculators.base import Backend
    from lpsflow.campaign import Campaign

#: Phases every campaign needs, whatever the accelerants.
SHARED_PHASES = ("Li2S", "P2S5", "S", "Li", "Li3PS4", "Li7P3S11", "Li4P2S6")

#: Reference phases relaxed in their primitive cell (only energies per atom matter;
#: S8 goes from 128 to 32 atoms). Products keep the bundled cell, whose axes name
#: the study's surfaces.
PRIMITIVE_PHASES = ("Li2S", "P2S5", "S", "Li")

#: Products of the shared reactions: (product, reactants, products).
SHARED_REACTIONS = (
    ("Li3PS4", ["Li2S", "P2S5"], ["Li3PS4"]),
    ("Li7P3S11", ["Li2S", "P2S5"], ["Li7P3S11"]),
    ("Li4P2S6", ["Li2S", "P2S5"], ["Li4P2S6", "S"]),
)


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
    legacy: dict[str, str] = field(default_factory=dict)
    """Job uuid -> the uuid lpsflow 0.1.0 gave the same job (stores it wrote)."""
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


class _Builder:
    """The campaign's settings resolved into Makers, and the book of their jobs."""

    def __init__(self, campaign: Campaign) -> None:
        self.c = campaign
        self.backend: Backend = get_backend(campaign.calculator)
        self.book = JobBook(salt=self.backend.describe())
        self.add = self.book.add
        calc = campaign.calculator
        self.mlip = {"screening_model": calc.screening_model, "device": calc.device}

    def structure(self, phase: str):
        return load_structure(phase, self.c.structure_overrides)

    def relax(self, phase: str, primitive: bool = False) -> Job:
        structure = self.structure(phase)
        if primitive:
            structure = structure.get_primitive_structure()
        job = self.backend.relax_maker(phase).make(structure)
        return self.add(job, roles.relax(phase), name=f"relax {phase}")

    def reaction(
        self,
        label: str,
        role: Role,
        product: str,
        species: list[dict],
        reactants: list[str],
        products: list[str],
    ) -> Job:
        job = reaction_energy_job(label, product, species, reactants, products)
        return self.add(job, role, name=f"reaction {label}", salt=False)


def build_campaign(campaign: Campaign, check: bool = True) -> CampaignFlow:
    """Build the campaign's flow; every job gets a content-derived uuid.

    ``check``: first the pre-flight checks of :func:`lpsflow.flows.preflight.check`
    (lattice matches, GB coincidences, NEB hops on the starting structures): one
    clear :class:`~lpsflow.errors.StructureError` instead of jobs that fail hours
    later. Their results are :attr:`CampaignFlow.matches`.
    """
    from lpsflow.flows.preflight import check as preflight

    matches = preflight(campaign) if check else {}
    b = _Builder(campaign)
    with b.book.active():
        cflow = _build(b)
    cflow.matches = matches
    return cflow


def _build(b: _Builder) -> CampaignFlow:
    campaign = b.c
    relaxed = {p: b.relax(p, primitive=p in PRIMITIVE_PHASES) for p in SHARED_PHASES}

    def species(phase: str, formula: str | None = None, jobs=None) -> dict:
        jobs = jobs or [relaxed[phase]]
        return phase_input(phase, formula or phase, jobs)

    for product, reactants, products in SHARED_REACTIONS:
        b.reaction(
            product,
            roles.reaction(product),
            product,
            [species(p) for p in sorted(set(reactants + products))],
            reactants,
            products,
        )

    doping = campaign.doping
    cells: dict[tuple[str, str, float], tuple[str, list[Job]]] = {}
    for formula in campaign.accelerants:
        acc = parse_accelerant(formula)
        relaxed[acc.formula] = b.relax(acc.formula, primitive=True)
        schemes = [s.name for s in acc.schemes]
        for scheme_name in doping.schemes or schemes:
            if scheme_name not in schemes:
                continue  # e.g. P-site asked for, but not possible for a 3+ cation
            label = f"core {acc.formula} {scheme_name}"
            core_formula, core_relaxes = _doped_cells(
                b, relaxed, acc, scheme_name, doping.x, doping.supercell, ""
            )
            cells[acc.formula, scheme_name, doping.x] = core_formula, core_relaxes
            b.reaction(
                label,
                roles.core_reaction(acc.formula, scheme_name),
                acc.core_label(scheme_name, doping.x),
                [
                    species("Li2S"),
                    species("P2S5"),
                    species("S"),
                    species(acc.formula),
                    phase_input(label, core_formula, core_relaxes),
                ],
                ["Li2S", "P2S5", acc.formula, "S"],
                [core_formula],
            )
            if not doping.solubility_x:
                continue
            series = []
            for x in sorted({*doping.solubility_x, doping.x}):
                if x == doping.x:
                    formula_x, jobs_x = core_formula, core_relaxes
                else:
                    formula_x, jobs_x = _doped_cells(
                        b, relaxed, acc, scheme_name, x, None, x_label(x)
                    )
                    cells[acc.formula, scheme_name, x] = formula_x, jobs_x
                series.append(
                    {
                        **phase_input(f"{label} x={x_label(x)}", formula_x, jobs_x),
                        "x": x,
                    }
                )
            refs = ["Li2S", "P2S5", "S", acc.formula, "Li3PS4", "Li7P3S11", "Li4P2S6"]
            b.add(
                solubility_job(
                    acc.formula,
                    scheme_name,
                    doping.hull_threshold,
                    [species(p) for p in refs],
                    series,
                ),
                roles.solubility(acc.formula, scheme_name),
                name=f"solubility {acc.formula} {scheme_name}",
                salt=False,
            )

        if campaign.interfaces.enabled:
            _hetero_interfaces(b, relaxed, acc, cells)
        if campaign.vacancies.enabled:
            vac = campaign.vacancies
            x = vac.core_x or campaign.interfaces.core_x or doping.x
            scheme, hosts = _core_cells(b, relaxed, acc, cells, x)
            if hosts:
                b.book.take(
                    _mu_li_maker(b, DOPED_CORE).make(
                        roles.mu_li("core", acc.formula),
                        f"{acc.formula} core {scheme}",
                        hosts,
                        relaxed["Li"],
                    )
                )
        _grain_boundaries_and_hops(b, relaxed, acc, cells)
    if campaign.vacancies.enabled and campaign.accelerants:
        b.book.take(
            _mu_li_maker(b, "Li7P3S11").make(
                roles.mu_li("", "Li7P3S11"),
                "Li7P3S11",
                [relaxed["Li7P3S11"]],
                relaxed["Li"],
            )
        )
    if campaign.accelerants:
        _shared_grain_boundary_and_hops(b, relaxed)
    if campaign.interfaces.enabled and campaign.accelerants:
        ifc = campaign.interfaces
        li7 = relaxed["Li7P3S11"]
        maker = binding_series_maker(
            campaign, "homo", ifc.film_miller, ifc.homo, b.backend
        )
        b.book.take(maker.make("Li7P3S11", li7, [li7]))

    book = b.book
    return CampaignFlow(
        name=f"lpsflow {campaign.name}",
        jobs=book.jobs,
        roles=book.roles,
        legacy=book.legacy,
    )


def _hetero_interfaces(
    b: _Builder,
    relaxed: dict[str, Job],
    acc: Accelerant,
    cells: dict[tuple[str, str, float], tuple[str, list[Job]]],
) -> None:
    """Li7P3S11 films on the accelerant's relaxed doped core (lowest arrangement)."""
    ifc = b.c.interfaces
    _, hosts = _core_cells(b, relaxed, acc, cells, ifc.core_x or b.c.doping.x)
    if hosts:
        maker = binding_series_maker(
            b.c, "hetero", ifc.core_miller, ifc.hetero, b.backend
        )
        b.book.take(
            maker.make(acc.formula, relaxed["Li7P3S11"], hosts, host=relaxed["Li3PS4"])
        )


def _grain_boundaries_and_hops(
    b: _Builder,
    relaxed: dict[str, Job],
    acc: Accelerant,
    cells: dict[tuple[str, str, float], tuple[str, list[Job]]],
) -> None:
    """Core and hetero GBs, GB-site vacancies and NEB hops of one accelerant."""
    c = b.c
    gbs, neb = c.grain_boundaries, c.neb
    if not (gbs.enabled or neb.enabled):
        return
    _, hosts = _core_cells(b, relaxed, acc, cells, c.gb_core_x)
    if not hosts:
        return
    energy: dict[str, Job] = {}
    if gbs.enabled:
        for kind in ("core", "hetero"):
            if kind in gbs.kinds:
                energy[kind] = _gb(b, kind, acc.formula, hosts, [relaxed["Li7P3S11"]])
    if "hetero" in energy and c.vacancies.enabled and c.vacancies.gb:
        b.book.take(
            _mu_li_maker(b, GRAIN_BOUNDARY, region="gb").make(
                roles.mu_li("gb", acc.formula),
                f"{acc.formula} hetero GB",
                [energy["hetero"]],
                relaxed["Li"],
                region="gb",
            )
        )
    if not neb.enabled:
        return
    gb = energy.get("hetero") or energy.get("core")
    if "gb" in neb.paths and gb is not None:
        b.book.take(_neb_maker(b, "gb").make(acc.formula, gb))
    if "bulk" in neb.paths:
        b.book.take(_neb_maker(b, "bulk", DOPED_CORE).make(acc.formula, hosts))


def _shared_grain_boundary_and_hops(b: _Builder, relaxed: dict[str, Job]) -> None:
    """The Li7P3S11 homo GB and the Li7P3S11 hops (references, computed once)."""
    gbs, neb = b.c.grain_boundaries, b.c.neb
    li7 = relaxed["Li7P3S11"]
    homo = None
    if gbs.enabled and "homo" in gbs.kinds:
        homo = _gb(b, "homo", "Li7P3S11", [li7], None)
    if not neb.enabled:
        return
    if "gb" in neb.paths and homo is not None:
        b.book.take(_neb_maker(b, "gb").make("Li7P3S11", homo))
    if "bulk" in neb.paths:
        b.book.take(_neb_maker(b, "bulk", "Li7P3S11").make("Li7P3S11", [li7]))


def _gb(
    b: _Builder,
    kind: str,
    label: str,
    a_jobs: list[Any],
    b_jobs: list[Any] | None,
) -> Any:
    """One GB of the campaign's ``grain_boundaries`` settings; its energy output."""
    gbs = b.c.grain_boundaries
    st = getattr(gbs, kind)
    maker = GrainBoundaryMaker(
        kind=kind,
        miller_a=st.miller_a,
        miller_b=st.miller_b,
        settings=st.builder_settings(),
        relax_maker=b.backend.relax_maker(
            GRAIN_BOUNDARY, relax_cell=False, fmax=gbs.fmax
        ),
        **b.mlip,
    )
    return b.book.take(
        maker.make(
            label,
            a_jobs,
            b_jobs if kind == "hetero" else None,
            parent=b.structure("Li3PS4") if kind == "core" else None,
        )
    )


def _mu_li_maker(
    b: _Builder, phase: str, region: str = "bulk"
) -> ChemicalPotentialMaker:
    """The mu_Li Maker of the campaign's ``vacancies`` settings for one phase."""
    cfg = b.c.vacancies
    # GB-site vacancies relax in the GB cell, to the GB relaxations' tolerance
    fmax = (b.c.grain_boundaries.fmax or cfg.fmax) if region == "gb" else cfg.fmax
    return ChemicalPotentialMaker(
        relax_maker=b.backend.relax_maker(phase, relax_cell=False, fmax=fmax),
        static_maker=b.backend.static_maker(phase),
        min_length=cfg.min_length,
        relax_top=cfg.relax_top,
        gb_window=cfg.gb_window,
        **b.mlip,
    )


def _neb_maker(b: _Builder, path: str, phase: str | None = None) -> NebMaker:
    return neb_maker(b.c.neb, path, b.c.calculator, b.backend, phase=phase)


def _core_cells(
    b: _Builder,
    relaxed: dict[str, Job],
    acc: Accelerant,
    cells: dict[tuple[str, str, float], tuple[str, list[Job]]],
    x: float,
) -> tuple[str, list[Job]]:
    """The relaxed doped cells at ``x`` (built if the campaign has none there yet).

    The scheme is ``interfaces.scheme`` or the first the campaign computes.
    """
    schemes = [s.name for s in acc.schemes]
    scheme = b.c.interfaces.scheme or next(
        (s for s in b.c.doping.schemes or schemes if s in schemes), schemes[0]
    )
    if scheme not in schemes:
        return scheme, []  # e.g. P-site asked for, impossible for a 3+ cation
    key = (acc.formula, scheme, x)
    if key not in cells:
        cells[key] = _doped_cells(b, relaxed, acc, scheme, x, None, x_label(x))
    return scheme, cells[key][1]


def _doped_cells(
    b: _Builder,
    relaxed: dict[str, Any],
    acc: Accelerant,
    scheme_name: str,
    x: float,
    supercell: tuple[int, int, int] | None,
    x_label: str,
) -> tuple[str, list[Any]]:
    """The doped cells at one x: their formula and relaxation outputs.

    ``x_label``: x as the roles name it, empty at the campaign's ``doping.x``.
    """
    doping = b.c.doping
    maker = DopedCellsMaker(
        screen_top=doping.screen_top,
        relax_top=doping.relax_top,
        max_enumerate=doping.max_enumerate,
        relax_maker=b.backend.relax_maker(DOPED_CORE),
        **b.mlip,
    )
    out = b.book.take(
        maker.make(
            acc,
            scheme_name,
            x,
            b.structure("Li3PS4"),
            relaxed["Li3PS4"],
            supercell=supercell,
            x_label=x_label,
        )
    )
    return out["formula"], out["relaxed"]
