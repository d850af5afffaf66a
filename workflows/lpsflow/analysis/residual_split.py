"""How the Li2S + P2S5 left after the core splits into the LPS phases.

On the observed Li3PS4 -> Li7P3S11 -> Li4P2S6 tie line, in the study's order, or by
a computed phase diagram (a ``Decomposer``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from pymatgen.core import Composition

from lpsflow.errors import CompositionError

if TYPE_CHECKING:
    from pymatgen.analysis.phase_diagram import PhaseDiagram

#: Largest allowed element imbalance (mol per 100 mol Li2S + P2S5).
BALANCE_TOL = 1e-9


#: Amounts below this (mol) are rounding noise and dropped from the phase list.
ZERO = 1e-12


#: Li2S : P2S5 molar ratios of the reference compositions on the tie line.
LI3PS4_RATIO = 3.0  # P/S 0.25


LI7P3S11_RATIO = 7 / 3  # P/S 6/22 = 0.2727


LI4P2S6_RATIO = 2.0  # 2 Li2S + P2S5 -> Li4P2S6 + S (mixture P/S 2/7)


#: A residual decomposer: residual composition (element moles) -> formula -> moles.
Decomposer = Callable[[Composition], Mapping[str, float]]


PHASE_ORDER = ("Li2S", "Li3PS4", "Li7P3S11", "Li4P2S6", "P2S5", "S")


_CONVENTIONAL = {Composition(f).reduced_formula: f for f in PHASE_ORDER}


def decompose(
    li2s: float, p2s5: float, energies: PhaseDiagram | Decomposer | None
) -> tuple[dict[str, float], str]:
    """Split the residual Li2S + P2S5 into phases (formula -> mol)."""
    if energies is None:
        out, how = _tie_line(li2s, p2s5), "tie-line rule"
    else:
        target = Composition({"Li": 2 * li2s, "P": 2 * p2s5, "S": li2s + 5 * p2s5})
        if target.num_atoms <= ZERO:
            return {}, "none"
        if hasattr(energies, "get_decomposition"):
            how = "phase diagram"
            raw: dict[str, float] = {}  # formula -> atoms
            for entry, frac in energies.get_decomposition(target).items():
                formula = entry.composition.reduced_formula
                raw[formula] = raw.get(formula, 0.0) + frac * target.num_atoms
        else:
            how = "callable"
            raw = {
                str(f): float(v) * Composition(str(f)).num_atoms
                for f, v in energies(target).items()
            }
        out = {}
        for formula, atoms in raw.items():  # conventional names: Li2PS3 -> Li4P2S6
            comp = Composition(formula)
            name = _CONVENTIONAL.get(comp.reduced_formula, comp.reduced_formula)
            out[name] = out.get(name, 0.0) + atoms / Composition(name).num_atoms
        got: dict[str, float] = {}
        for formula, moles in out.items():
            for el, amt in Composition(formula).items():
                got[el.symbol] = got.get(el.symbol, 0.0) + moles * amt
        els = set(got) | {el.symbol for el in target.elements}
        worst = max(abs(got.get(el, 0.0) - target[el]) for el in els)
        if worst > BALANCE_TOL or any(v < -BALANCE_TOL for v in out.values()):
            raise CompositionError(
                f"the {how} decomposition of the residual {target.formula} does not "
                f"conserve elements (imbalance {worst:.3g} mol) or has negative amounts"
            )
    out = {f: v for f, v in out.items() if v > ZERO}
    rank = {f: i for i, f in enumerate(PHASE_ORDER)}
    return dict(sorted(out.items(), key=lambda kv: (rank.get(kv[0], 99), kv[0]))), how


def _tie_line(li2s: float, p2s5: float) -> dict[str, float]:
    """Lever rule on the Li2S-P2S5 line (formula -> mol); exact mass balance."""
    li, p = li2s, p2s5
    if p <= ZERO:
        return {"Li2S": li} if li > ZERO else {}
    r = li / p
    if r >= LI3PS4_RATIO:  # only beyond Li3PS4 by rounding in this model
        return {"Li3PS4": 2 * p, "Li2S": li - 3 * p}
    if r >= LI7P3S11_RATIO:  # 1.5u + 3.5v = Li2S, 0.5u + 1.5v = P2S5
        return {"Li3PS4": 3 * li - 7 * p, "Li7P3S11": 3 * p - li}
    if r >= LI4P2S6_RATIO:  # 3.5v + 2w = Li2S, 1.5v + w = P2S5; w S released
        w = 7 * p - 3 * li
        return {"Li7P3S11": 2 * (li - 2 * p), "Li4P2S6": w, "S": w}
    return {"Li4P2S6": li / 2, "S": li / 2, "P2S5": p - li / 2}
