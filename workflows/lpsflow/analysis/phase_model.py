"""Phase evolution of accelerant-doped Li2S-P2S5 glass-ceramics (pure, no I/O).

Amounts are moles per 100 mol of Li2S + P2S5 (``a + b = 100``); the accelerant MmSs
comes on top. Three kinds of reasoning meet here, kept apart:

* **Mass balance** (exact): the nominal composition, what the core consumes, what is
  left, and the phases' amounts and weights (pymatgen element masses). Every result
  checks that elements are conserved to :data:`BALANCE_TOL`.
* **The study's sequential rule** (a model): the doped core Li(3-qx)M(x)PS4 (or the
  P-site core Li(3+(5-q)x)M(x)P(1-x)S4) crystallises first, and only while the
  residual Li2S + P2S5 stays between the Li3PS4 (P/S 0.25) and Li7P3S11 (P/S 0.273)
  compositions; the residual crystallises afterwards. See :func:`evolve`.
* **Thermodynamics** (computed elsewhere): the solubility x of M in the core (hull,
  issue 3 item 1) is an input, and what the residual decomposes into is by default
  the experimental Li2S-P2S5 tie line (Li3PS4 / Li7P3S11 / Li4P2S6 + S); an
  ``energies`` hook (a pymatgen ``PhaseDiagram`` or a callable) replaces that.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from pymatgen.core import Composition

from lpsflow.analysis.lps_series import (
    SERIES,
    SeriesSample,
    accelerant_moles,
    accelerant_of,
    parse_sample,
    sample_name,
)
from lpsflow.analysis.phase_results import (
    Basis,
    InverseResult,
    PhaseAmount,
    PhaseEvolution,
)
from lpsflow.analysis.residual_split import (
    ZERO,
    Decomposer,
    decompose,
)
from lpsflow.errors import CompositionError
from lpsflow.structures.accelerant import Accelerant

if TYPE_CHECKING:
    from pymatgen.analysis.phase_diagram import PhaseDiagram


# What stopped the core (PhaseEvolution.core_stop).
STOP_LI7P3S11 = "residual reached Li7P3S11 (P/S 0.273)"
STOP_LI3PS4 = "residual reached Li3PS4 (P/S 0.25)"
STOP_ACCELERANT = "accelerant used up"
STOP_PRICH = "no core: residual already at or beyond Li7P3S11 (P/S >= 0.273)"
STOP_NONE = "no core: no accelerant (y = 0)"
STOP_MEASURED = "set by the measured core weight fraction"


class _Core(NamedTuple):
    label: str
    composition: dict[str, float]
    li2s: float  # Li2S per core formula unit
    p2s5: float  # P2S5 per core formula unit
    accelerant: float  # accelerant formula units per core formula unit


class _Setup(NamedTuple):
    sample: str
    a: float
    b: float
    acc: Accelerant
    acc_comp: Composition
    y: float
    scheme: str
    x: float
    core: _Core
    nominal: dict[str, float]


def evolve(
    sample: str | tuple[float, float],
    accelerant: str | Accelerant,
    solubility: float,
    scheme: str = "Li-site",
    energies: PhaseDiagram | Decomposer | None = None,
) -> PhaseEvolution:
    """Forward model: the phases that crystallise from one sample, in order.

    Mass balance: forming n mol of core Li(3-qx)M(x)PS4 uses (3-qx)/2 Li2S + 1/2
    P2S5 + x/m MmSs per unit (P-site: (3+(5-q)x)/2 Li2S + (1-x)/2 P2S5 + x/m MmSs);
    S balances without free sulfur in both schemes. What is left is
    L = a - n*l, B = b - n*p Li2S + P2S5 and y - n*x/m accelerant.

    Mass balance alone leaves n open once two thiophosphates coexist. The study's
    sequential rule closes it (SCIENCE.md steps 1-3): the core nucleates first and
    keeps growing while the residual stays between Li3PS4 (L/B = 3, P/S 0.25) and
    Li7P3S11 (L/B = 7/3, P/S 0.273). It stops at the first of: the residual reaches
    Li7P3S11 (the next phase can nucleate; the usual case, as the core takes
    Li2S:P2S5 at a higher ratio than the glass has), the residual reaches Li3PS4
    (the core's ratio is lower, e.g. LPS7426), or M is used up (M beyond n*x
    stays as unreacted MmSs). With the Li-site scheme the last two coincide: all M
    in the core leaves exactly Li3PS4.

    * P-rich end (a/b <= 7/3, LPS7030 and below): the residual is already at or
      beyond Li7P3S11, so no core forms; all accelerant stays unreacted.
    * Li-rich end (LPS7525): y = 0, no accelerant, no core; the glass is Li3PS4.

    The residual then crystallises (stage 2). By default it is split on the
    Li2S-P2S5 tie line, as observed: L/B between 3 and 7/3 gives Li3PS4 +
    Li7P3S11, between 7/3 and 2 gives Li7P3S11 + Li4P2S6 + S, below 2 gives
    Li4P2S6 + S + excess P2S5. That split is thermodynamics taken from experiment;
    ``energies`` decides it instead: a pymatgen ``PhaseDiagram`` (its
    ``get_decomposition`` of the residual composition; it must span Li-P-S, e.g.
    built from a campaign's entries plus elemental references) or a callable
    ``f(residual: Composition) -> {formula: moles}``. The amount of core stays the
    sequential rule's either way.
    """
    setup = _setup(sample, accelerant, solubility, scheme)
    n, stop = _core_amount(setup)
    return _build(setup, n, stop, energies)


def invert(
    sample: str | tuple[float, float],
    accelerant: str | Accelerant,
    core_wt_fraction: float,
    solubility: float,
    scheme: str = "Li-site",
    basis: Basis = "crystalline",
    energies: PhaseDiagram | Decomposer | None = None,
) -> InverseResult:
    """Inverse model: core formed and residual P/S from a measured core fraction.

    ``basis='crystalline'`` (default) reads the fraction as core mass over the
    sample less its unreacted accelerant, i.e. over the core plus everything the
    residual Li2S + P2S5 becomes (as the study's 27.1/72.9 wt% split, which leaves
    out the little unreacted Al2S3); ``basis='sample'`` over the whole sample.
    Either way the fraction fixes n by mass balance alone (linear in n), whatever
    the residual later decomposes into; the sequential rule is not used, only
    reported for comparison. Fractions outside [0, 1], or needing more core than the
    Li2S, P2S5 or M of the sample allow, are errors.
    """
    setup = _setup(sample, accelerant, solubility, scheme)
    w = float(core_wt_fraction)
    if not (math.isfinite(w) and 0 <= w <= 1):
        hint = f" ({w:g} looks like a percentage: pass {w / 100:g})" if w > 1 else ""
        raise CompositionError(
            f"core weight fraction must be between 0 and 1, got {w:g}{hint}"
        )
    if basis not in ("crystalline", "sample"):
        raise CompositionError(f"basis must be 'crystalline' or 'sample', not {basis}")
    core_mass = _mass(setup.core.composition)
    acc_mass = float(setup.acc_comp.weight)
    total = setup.a * _mass_of("Li2S") + setup.b * _mass_of("P2S5") + setup.y * acc_mass
    if basis == "sample":
        n = w * total / core_mass
    else:  # w = n*Mc / (total - (y - n*k)*M_acc), linear in n
        k = setup.core.accelerant
        n = w * (total - setup.y * acc_mass) / (core_mass - w * k * acc_mass)
    n_max, limit = _max_core(setup)
    if n > n_max * (1 + 1e-12) + ZERO:
        if setup.y <= ZERO:
            raise CompositionError(
                f"{setup.sample} contains no accelerant (y = 0), so no doped core "
                f"can form; only a core weight fraction of 0 is possible, got {w:g}"
            )
        w_max = _build(setup, n_max, STOP_MEASURED, None).wt("core", basis)
        raise CompositionError(
            f"{setup.sample}: a core weight fraction of {w:g} ({basis}) needs "
            f"{n:.4g} mol core per 100 mol Li2S + P2S5, but the composition allows "
            f"at most {n_max:.4g} mol ({limit}), i.e. a core weight fraction of at "
            f"most {w_max:.4g}"
        )
    n = min(n, n_max)
    evolution = _build(setup, n, STOP_MEASURED, energies)
    rule = _build(setup, *_core_amount(setup), None)
    return InverseResult(
        sample=setup.sample,
        accelerant=setup.acc.formula,
        scheme=setup.scheme,
        solubility=setup.x,
        core_wt_fraction=w,
        basis=basis,
        core_moles=n,
        max_core_moles=n_max,
        residual_li2s=evolution.residual_li2s,
        residual_p2s5=evolution.residual_p2s5,
        residual_ps=evolution.residual_ps,
        rule_core_moles=rule.core_moles,
        rule_core_wt_fraction=rule.wt("core", basis),
        evolution=evolution,
    )


def series(
    accelerant: str | Accelerant,
    solubility: float,
    scheme: str = "Li-site",
    energies: PhaseDiagram | Decomposer | None = None,
    samples: tuple[SeriesSample, ...] = SERIES,
) -> list[PhaseEvolution]:
    """:func:`evolve` for every sample of the series, with measured conductivities."""
    return [
        evolve(s.name, accelerant, solubility, scheme=scheme, energies=energies)
        for s in samples
    ]


# --- internals -------------------------------------------------------------------


def _mass(composition: Mapping[str, float]) -> float:
    return float(Composition(dict(composition)).weight)


def _mass_of(formula: str) -> float:
    return float(Composition(formula).weight)


def _setup(
    sample: str | tuple[float, float],
    accelerant: str | Accelerant,
    solubility: float,
    scheme: str,
) -> _Setup:
    if isinstance(sample, str):
        a, b = parse_sample(sample)
    else:
        a, b = parse_sample(f"{sample[0]:g}-{sample[1]:g}")
    acc = accelerant_of(accelerant)
    sch = acc.scheme(scheme)  # errors if the scheme is impossible for this q
    x = float(solubility)
    if not (math.isfinite(x) and 0 < x < 1):
        raise CompositionError(
            f"solubility x must be between 0 and 1 (exclusive), got {solubility}"
        )
    q = acc.oxidation_state
    per_fu = sch.core_formula_per_fu(q, x)
    if per_fu["Li"] <= 0:
        raise CompositionError(
            f"solubility x = {x:g} leaves no Li in the {scheme} core "
            f"(Li = 3 - {q}x); x must be below {3 / q:g}"
        )
    acc_comp = Composition(acc.formula)
    m = acc_comp[acc.cation]
    composition = {
        "Li": per_fu["Li"],
        acc.cation: per_fu["M"],
        "P": per_fu["P"],
        "S": per_fu["S"],
    }
    core = _Core(
        label=acc.core_label(sch.name, x),
        composition=composition,
        li2s=per_fu["Li"] / 2,
        p2s5=per_fu["P"] / 2,
        accelerant=x / m,
    )
    y = accelerant_moles(a, b, acc)
    nominal: dict[str, float] = {}
    for formula, moles in (("Li2S", a), ("P2S5", b), (acc.formula, y)):
        for el, n in Composition(formula).items():
            nominal[el.symbol] = nominal.get(el.symbol, 0.0) + moles * n
    return _Setup(sample_name(a, b), a, b, acc, acc_comp, y, sch.name, x, core, nominal)


def _max_core(setup: _Setup) -> tuple[float, str]:
    """Most core the Li2S, P2S5 and M allow, and which one limits it."""
    c = setup.core
    limits = [
        (setup.y / c.accelerant, f"{setup.acc.cation} of the accelerant used up"),
        (setup.a / c.li2s, "Li2S used up"),
    ]
    if c.p2s5 > 0:
        limits.append((setup.b / c.p2s5, "P2S5 used up"))
    return min(limits)


def _core_amount(setup: _Setup) -> tuple[float, str]:
    """The sequential rule: core grows until the residual leaves [Li3PS4, Li7P3S11]."""
    a, b, c = setup.a, setup.b, setup.core
    if setup.y <= ZERO:
        return 0.0, STOP_NONE
    if 3 * a <= 7 * b * (1 + 1e-12):  # a/b <= 7/3
        return 0.0, STOP_PRICH
    candidates = [(setup.y / c.accelerant, STOP_ACCELERANT)]
    # residual L/B = (a - n*l)/(b - n*p) falls towards 7/3 or rises towards 3
    to_li7 = 3 * c.li2s - 7 * c.p2s5
    if to_li7 > 0:
        candidates.append(((3 * a - 7 * b) / to_li7, STOP_LI7P3S11))
    to_li3 = c.li2s - 3 * c.p2s5
    if to_li3 < 0:
        candidates.append(((a - 3 * b) / to_li3, STOP_LI3PS4))
    n_max, limit = _max_core(setup)
    n = min(n for n, _ in candidates)
    if n > n_max:
        return n_max, limit
    # Li-site: the accelerant runs out exactly when the residual reaches Li3PS4
    stop = "; ".join(s for m, s in candidates if m <= n * (1 + 1e-9) + ZERO)
    return max(n, 0.0), stop


def _build(
    setup: _Setup,
    n: float,
    stop: str,
    energies: PhaseDiagram | Decomposer | None,
) -> PhaseEvolution:
    c = setup.core
    li2s = setup.a - n * c.li2s
    p2s5 = setup.b - n * c.p2s5
    acc_left = setup.y - n * c.accelerant
    acc_left = 0.0 if abs(acc_left) < ZERO else acc_left
    if min(li2s, p2s5, acc_left) < -1e-9:
        raise CompositionError(f"{setup.sample}: {n:.4g} mol core is more than fits")
    li2s, p2s5, acc_left = (max(v, 0.0) for v in (li2s, p2s5, acc_left))
    residual, how = decompose(li2s, p2s5, energies)

    items: list[tuple[str, str, int | None, dict[str, float], float]] = []
    if n > ZERO:
        items.append((c.label, "core", 1, c.composition, n))
    for formula, moles in residual.items():
        comp = {el.symbol: amt for el, amt in Composition(formula).items()}
        items.append((formula, "residual", 2, comp, moles))
    if acc_left > ZERO:
        comp = {el.symbol: amt for el, amt in setup.acc_comp.items()}
        items.append((setup.acc.formula, "unreacted accelerant", None, comp, acc_left))

    masses = [moles * _mass(comp) for *_, comp, moles in items]
    total = sum(masses)
    acc_mass = sum(
        mass for item, mass in zip(items, masses, strict=True) if item[2] is None
    )
    phases = [
        PhaseAmount(
            name=name,
            role=role,  # type: ignore[arg-type]
            stage=stage,
            composition=comp,
            moles=moles,
            molar_mass=_mass(comp),
            mass=mass,
            wt_fraction=mass / total,
            wt_fraction_crystalline=None
            if stage is None
            else mass / (total - acc_mass),
        )
        for (name, role, stage, comp, moles), mass in zip(items, masses, strict=True)
    ]
    known = {s.name: s.conductivity for s in SERIES}
    return PhaseEvolution(
        sample=setup.sample,
        li2s=setup.a,
        p2s5=setup.b,
        accelerant=setup.acc.formula,
        oxidation_state=setup.acc.oxidation_state,
        scheme=setup.scheme,
        solubility=setup.x,
        accelerant_moles=setup.y,
        core=c.label,
        core_moles=n,
        core_stop=stop,
        residual_li2s=li2s,
        residual_p2s5=p2s5,
        residual_ps=2 * p2s5 / (li2s + 5 * p2s5) if li2s + p2s5 > ZERO else None,
        unreacted_accelerant_moles=acc_left,
        decomposition=how,
        phases=phases,
        nominal=setup.nominal,
        measured_conductivity=known.get(setup.sample),
    )
