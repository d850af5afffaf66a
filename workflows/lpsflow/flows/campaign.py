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
from typing import TYPE_CHECKING

from jobflow import Flow, Job, Maker

from lpsflow import roles
from lpsflow.calculators import get_backend
from lpsflow.calculators.base import DOPED_CORE, GRAIN_BOUNDARY
from lpsflow.flows.grain_boundaries import add_gb_series, add_neb, neb_options
from lpsflow.flows.interfaces import add_interface_series
from lpsflow.flows.vacancies import add_chemical_potential
from lpsflow.jobs.identity import LEGACY_VERSION, legacy_uuid, stamp
from lpsflow.jobs.reactions import phase_input, reaction_energy_job
from lpsflow.jobs.screening import screen_arrangements
from lpsflow.jobs.solubility import solubility_job
from lpsflow.roles import Role, x_label
from lpsflow.structures.accelerant import Accelerant, parse_accelerant
from lpsflow.structures.doping import choose_supercell, ranked_arrangements
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
    def __init__(self, campaign: Campaign) -> None:
        self.c = campaign
        self.backend: Backend = get_backend(campaign.calculator)
        self.salt = self.backend.describe()
        self.jobs: list[Job] = []
        self._by_uuid: dict[str, Job] = {}
        self.roles: dict[str, str] = {}
        self.legacy: dict[str, str] = {}  # uuid -> the uuid lpsflow 0.1.0 gave it

    def add(
        self, job: Job, role: Role, name: str | None = None, salt: bool = True
    ) -> Job:
        # calculations are keyed by the calculator settings too (salt); lpsflow's
        # own analysis jobs by their inputs and kind version only
        role = str(role)
        old_salt = self.salt if salt else {"lpsflow": LEGACY_VERSION}
        old = legacy_uuid(job, old_salt, self.legacy)
        stamp(job, role=role, salt=self.salt if salt else None)
        self.legacy.setdefault(job.uuid, old)
        if job.uuid in self._by_uuid:  # the same calculation asked for twice
            self.roles[role] = job.uuid
            return self._by_uuid[job.uuid]
        if name:
            job.name = name
        self.jobs.append(job)
        self._by_uuid[job.uuid] = job
        self.roles[role] = job.uuid
        return job

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


def build_campaign(campaign: Campaign) -> CampaignFlow:
    """Build the campaign's flow; every job gets a content-derived uuid."""
    b = _Builder(campaign)
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
                add_chemical_potential(
                    b, roles.mu_li("core", acc.formula), f"{acc.formula} core {scheme}",
                    DOPED_CORE, hosts, relaxed["Li"],
                )  # fmt: skip
        _grain_boundaries_and_hops(b, relaxed, acc, cells)
    if campaign.vacancies.enabled and campaign.accelerants:
        add_chemical_potential(
            b,
            roles.mu_li("", "Li7P3S11"),
            "Li7P3S11",
            "Li7P3S11",
            [relaxed["Li7P3S11"]],
            relaxed["Li"],
        )
    if campaign.accelerants:
        _shared_grain_boundary_and_hops(b, relaxed)
    if campaign.interfaces.enabled and campaign.accelerants:
        ifc = campaign.interfaces
        li7 = relaxed["Li7P3S11"]
        add_interface_series(
            b, "homo", "Li7P3S11", li7, [li7], ifc.film_miller, ifc.homo
        )

    return CampaignFlow(
        name=f"lpsflow {campaign.name}", jobs=b.jobs, roles=b.roles, legacy=b.legacy
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
        add_interface_series(
            b, "hetero", acc.formula, relaxed["Li7P3S11"], hosts, ifc.core_miller,
            ifc.hetero, host=relaxed["Li3PS4"],
        )  # fmt: skip


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
        add_chemical_potential(
            b, roles.mu_li("gb", acc.formula), f"{acc.formula} hetero GB",
            GRAIN_BOUNDARY, [energy["hetero"]], relaxed["Li"], region="gb",
        )  # fmt: skip
    if not neb.enabled:
        return
    gb = energy.get("hetero") or energy.get("core")
    if "gb" in neb.paths and gb is not None:
        add_neb(b, acc.formula, "gb", gb, **neb_options(neb, "gb", b.c.calculator))
    if "bulk" in neb.paths:
        add_neb(
            b,
            acc.formula,
            "bulk",
            hosts,
            phase=DOPED_CORE,
            **neb_options(neb, "bulk", b.c.calculator),
        )


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
        add_neb(b, "Li7P3S11", "gb", homo, **neb_options(neb, "gb", b.c.calculator))
    if "bulk" in neb.paths:
        add_neb(
            b,
            "Li7P3S11",
            "bulk",
            [li7],
            phase="Li7P3S11",
            **neb_options(neb, "bulk", b.c.calculator),
        )


def _gb(
    b: _Builder, kind: str, label: str, a_jobs: list[Job], b_jobs: list[Job] | None
) -> Job:
    """One GB of the campaign's ``grain_boundaries`` settings; its energy job."""
    gbs = b.c.grain_boundaries
    st = getattr(gbs, kind)
    return add_gb_series(
        b, kind, label, a_jobs, b_jobs if kind == "hetero" else None,
        miller_a=st.miller_a, miller_b=st.miller_b,
        settings=st.builder_settings(), fmax=gbs.fmax,
        parent=b.structure("Li3PS4") if kind == "core" else None,
    )  # fmt: skip


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
    relaxed: dict[str, Job],
    acc: Accelerant,
    scheme_name: str,
    x: float,
    supercell: tuple[int, int, int] | None,
    x_label: str,
) -> tuple[str, list[Job]]:
    """Screen and relax the doped cells at one x; return their formula and relaxations.

    ``x_label``: x as the roles name it, empty at the campaign's ``doping.x``.
    Arrangements are enumerated and Ewald-ranked now, on the starting host; the
    screening job applies them to the relaxed host.
    """
    doping = b.c.doping
    host = b.structure("Li3PS4")
    cell, n_dopants = choose_supercell(host, x, supercell=supercell)
    host_sc = host.copy()
    host_sc.make_supercell(list(cell))
    scheme = acc.scheme(scheme_name)
    ranked, n_distinct = ranked_arrangements(
        host_sc, acc, scheme, n_dopants, doping.screen_top, doping.max_enumerate
    )
    role = Role("screen", acc.formula, branch="core", scheme=scheme_name, x=x_label)
    words = role.tag.replace(":", " ")
    screen = b.add(
        screen_arrangements(
            relaxed["Li3PS4"].output.structure,
            cell,
            acc.formula,
            acc.cation,
            scheme_name,
            x,
            [a.as_dict() for a in ranked],
            n_distinct,
            doping.relax_top,
            model=b.c.calculator.screening_model,
            device=b.c.calculator.device,
        ),
        role,
        name=f"screen core {words}",
    )
    relaxes = [
        b.add(
            b.backend.relax_maker(DOPED_CORE).make(screen.output.selected[i]),
            role.but(step="relax", index=i),
            name=f"relax core {words} #{i}",
        )
        for i in range(min(doping.relax_top, len(ranked)))
    ]
    formula = ranked[0].apply(host_sc, acc.cation).formula.replace(" ", "")
    return formula, relaxes
