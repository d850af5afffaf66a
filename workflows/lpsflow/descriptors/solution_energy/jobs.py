"""The solution-energy job: the energy of putting one M into Li3PS4.

The per-atom reaction energy of a doped core from the precursors mostly tracks its
Li2S fraction (an undoped Li3PS4 already lies below Li7P3S11), so it cannot say what
the dopant itself does. The solution energy does. A doped cell of n PS4 units
holding m dopants forms as

    n Li3PS4 + (m/a) MaSb + nu_Li2S Li2S + nu_P2S5 P2S5 -> doped cell

(Li-site: M on Li plus q-1 vacancies releases q/2 Li2S per M; P-site: M on P takes
up (5-q)/2 Li2S and releases 1/2 P2S5), and

    E_sol = [E(doped) - n E(Li3PS4) - (m/a) E(MaSb)
             - nu_Li2S mu_Li2S - nu_P2S5 mu_P2S5] / m     (eV per dopant).

The Li2S and P2S5 it exchanges go to or come from the rest of the sample, at the
chemical potentials of the phase that coexists with Li3PS4 there (standard defect
chemistry; :data:`~lpsflow.descriptors.solution_energy.schema.CONDITIONS`): with
Li7P3S11 (samples between 75:25 and 70:30, such as the study's doped core +
Li7P3S11; the headline) or with Li2S (a Li2S-rich sample; the other bound). Every
condition keeps Li3PS4 in equilibrium (1.5 mu_Li2S + 0.5 mu_P2S5 = E(Li3PS4)), so
E_sol does not depend on how many Li3PS4 units the balance counts (n = S/4 is a
convention). The two conditions differ by (Li2S released per M) x 0.7 eV or so, a
valence term the same for every dopant of one valence: compare dopants under one
condition. M comes from MaSb: a more stable M-bearing phase (a ternary such as
LiAlS2 or Li4SiS4) would make E_sol higher, so E_sol against MaSb is a lower bound.
Negative: M leaves its sulfide for the Li3PS4 host. The campaign's own relaxations
give every energy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from jobflow import job
from pymatgen.core import Composition

from lpsflow.descriptors.reactions.jobs import lowest_of, pick_lowest
from lpsflow.descriptors.solution_energy.schema import (
    CONDITIONS,
    SolutionEnergyDoc,
    SolutionPoint,
)
from lpsflow.errors import CompositionError
from lpsflow.jobs.identity import kind

#: The phases behind the chemical potentials: the host, those it may coexist with,
#: and P2S5 (for Li7P3S11's distance from the computed hull; the accelerant is
#: added per job).
RESERVOIRS = ("Li3PS4", "Li7P3S11", "Li2S", "P2S5")


def li7p3s11_above_tie(per_fu: dict[str, float]) -> float:
    """Energy of Li7P3S11 above the Li3PS4-P2S5 tie line (meV/atom).

    Li7P3S11 = 7/3 Li3PS4 + 1/3 P2S5. Positive: metastable in the campaign's own
    energies, so its coexistence with Li3PS4 (the headline condition) is a
    metastable equilibrium and lowers each Li-site E_sol by (q/2) x 21 x this.
    """
    tie = 7 / 3 * per_fu["Li3PS4"] + 1 / 3 * per_fu["P2S5"]
    return 1000 * (per_fu["Li7P3S11"] - tie) / 21


def chemical_potentials(per_fu: dict[str, float], condition: str) -> dict[str, float]:
    """mu_Li2S and mu_P2S5 (eV per formula unit) with Li3PS4 and ``condition``.

    ``per_fu``: energy per formula unit of Li3PS4 and of the coexisting phase.
    """
    host = Composition("Li3PS4")
    other = Composition(condition)
    # a Li2S-P2S5 phase is (Li2S)_u (P2S5)_v with u = Li/2, v = P/2
    rows = [[c["Li"] / 2, c["P"] / 2] for c in (host, other)]
    mu = np.linalg.solve(np.array(rows), [per_fu["Li3PS4"], per_fu[condition]])
    return {"Li2S": float(mu[0]), "P2S5": float(mu[1])}


def solution_coefficients(
    doped: Composition, accelerant: Composition
) -> dict[str, float]:
    """Amounts of Li3PS4, the accelerant, Li2S and P2S5 that make ``doped``.

    Positive: consumed; negative: released. Li3PS4 itself lies on the Li2S-P2S5
    line, so its amount is a convention: n = S/4 (every scheme keeps the host's S
    sublattice); the accelerant, Li2S and P2S5 balance the rest. A
    :class:`CompositionError` if no such balance exists.
    """
    cation = next(str(e) for e in accelerant.elements if str(e) != "S")
    elements = ["Li", "P", "S", cation]
    extra = {str(e) for e in doped.elements} - set(elements)
    if extra:
        raise CompositionError(
            f"{doped.formula}: not Li3PS4 doped with {accelerant.reduced_formula} "
            f"(also holds {', '.join(sorted(extra))})"
        )
    n = doped["S"] / 4
    names = [accelerant.reduced_formula, "Li2S", "P2S5"]
    matrix = np.array(
        [[Composition(name)[e] for name in names] for e in elements], dtype=float
    )
    host = Composition("Li3PS4")
    rest = np.array([doped[e] - n * host[e] for e in elements], dtype=float)
    nu, *_ = np.linalg.lstsq(matrix, rest, rcond=None)
    if not np.allclose(matrix @ nu, rest, atol=1e-6):
        raise CompositionError(
            f"{doped.formula}: no balance from Li3PS4, "
            f"{accelerant.reduced_formula}, Li2S and P2S5"
        )
    out = {"Li3PS4": n, **dict(zip(names, nu.tolist(), strict=True))}
    return {k: round(v, 9) + 0.0 for k, v in out.items()}


def solution_energies(
    energy: float,
    doped: Composition,
    accelerant: str,
    per_fu: dict[str, float],
    mus: dict[str, dict[str, float]],
) -> dict[str, float]:
    """E_sol per dopant (eV) of a doped cell of ``energy`` under each condition.

    ``per_fu``: energies per formula unit of Li3PS4 and the accelerant; ``mus``:
    :func:`chemical_potentials` of each condition.
    """
    source = Composition(accelerant)
    cation = next(str(e) for e in source.elements if str(e) != "S")
    nu = solution_coefficients(doped, source)
    fixed = nu["Li3PS4"] * per_fu["Li3PS4"] + nu[accelerant] * per_fu[accelerant]
    exchanged = {
        c: sum(nu[p] * mu[p] for p in ("Li2S", "P2S5")) for c, mu in mus.items()
    }
    return {c: (energy - fixed - e) / doped[cation] for c, e in exchanged.items()}


def _reaction_text(nu: dict[str, float], product: str) -> str:
    left = " + ".join(f"{v:.6g} {n}" for n, v in nu.items() if v > 1e-9)
    right = " + ".join(f"{-v:.6g} {n}" for n, v in nu.items() if v < -1e-9)
    return f"{left} -> {product}" + (f" + {right}" if right else "")


@job
@kind("solution_energy")
def solution_energy_job(
    accelerant: str,
    scheme: str,
    x: float,
    references: list[dict[str, Any]],
    series: list[dict[str, Any]],
) -> SolutionEnergyDoc:
    """E_sol per dopant of the lowest doped cell at each x.

    Parameters
    ----------
    accelerant, scheme
        The accelerant MaSb and the doping scheme of the cells.
    x
        The campaign's core content (its value is the headline).
    references
        :func:`~lpsflow.descriptors.reactions.jobs.phase_input` of Li3PS4,
        Li7P3S11, Li2S, P2S5 and the accelerant.
    series
        One ``phase_input`` per x (candidates: the relaxed arrangements; the lowest
        converged is used), with an extra key ``x``.

    """
    refs = lowest_of(references)
    converged = all(s.converged for s in refs.values())
    per_atom = {p: s.energy_per_atom for p, s in refs.items()}
    per_fu = {p: e * Composition(p).num_atoms for p, e in per_atom.items()}
    mus = {c: chemical_potentials(per_fu, c) for c in CONDITIONS}
    source = Composition(accelerant)
    cation = next(str(e) for e in source.elements if str(e) != "S")
    points = []
    for point in series:
        best, sums = pick_lowest(point["candidates"])
        s = sums[best]
        composition = s.structure.composition
        formula = composition.formula.replace(" ", "")
        nu = solution_coefficients(composition, source)
        m = round(composition[cation])
        energies = solution_energies(s.energy, composition, accelerant, per_fu, mus)
        converged &= s.converged
        points.append(
            SolutionPoint(
                x=point["x"],
                formula=formula,
                n_dopants=m,
                reaction=_reaction_text(nu, formula),
                energy_per_dopant=energies,
                converged=s.converged,
                job_uuid=point["candidates"][best]["uuid"],
            )
        )
    points.sort(key=lambda p: p.x)
    at_x = next((p for p in points if abs(p.x - x) < 1e-12), None)
    return SolutionEnergyDoc(
        accelerant=accelerant,
        scheme=scheme,
        x=x,
        reservoir_energies=per_atom,
        chemical_potentials=mus,
        li7p3s11_above_tie=li7p3s11_above_tie(per_fu),
        energy_per_dopant=at_x.energy_per_dopant if at_x else {},
        points=points,
        converged=converged,
    )
