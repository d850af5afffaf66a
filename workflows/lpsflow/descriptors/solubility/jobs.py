"""Solubility of the dopant: free energy of mixing, and the hull of the undoped phases.

The limit (:mod:`~lpsflow.descriptors.solubility.mixing`): the x that minimises
dF(x) = x E_sol(x) - T S_conf(x) per PS4 at the synthesis temperature, with E_sol
the solution energy per dopant of the campaign's lowest cells
(:mod:`lpsflow.descriptors.solution_energy.jobs`), under each chemical-potential
condition. A per-atom hull threshold cannot do this: 25 meV/atom is about 3 eV per
dopant at x = 1/16, so every dilute cell passed and the x grid set the limit.

Beside it, each cell's energy above the hull of the undoped phases: the doped
cores, Li2S, P2S5, S8, the accelerant MxSy and the undoped products live in the
Li2S-P2S5-MxSy(-S) composition space. Elemental P and M are not computed, so the
hull is a pymatgen :class:`CompoundPhaseDiagram` with those four compounds as
terminals; its energies per "terminal atom" are converted back to meV per real atom.
Phases outside that space (Li4P2S6 is S-poorer than Li2S + P2S5: its P-P bond
needs P4+) cannot take part in a doped core's decomposition there and are left out.
Each doped cell is measured against the hull of the undoped phases only.
"""

from __future__ import annotations

from typing import Any

from jobflow import job
from pymatgen.analysis.phase_diagram import CompoundPhaseDiagram, PDEntry
from pymatgen.core import Composition

from lpsflow.descriptors.reactions.jobs import lowest_of, pick_lowest
from lpsflow.descriptors.solubility.mixing import (
    K_B,
    X_MIN,
    Minimum,
    bound,
    entropy,
    solubility_limit,
)
from lpsflow.descriptors.solubility.schema import (
    SolubilityDoc,
    SolubilityLimit,
    SolubilityPoint,
    Sublattices,
)
from lpsflow.descriptors.solution_energy.jobs import (
    chemical_potentials,
    solution_energies,
)
from lpsflow.descriptors.solution_energy.schema import CONDITIONS
from lpsflow.jobs.identity import kind
from lpsflow.roles import x_label


@job
@kind("solubility", version=3)
def solubility_job(
    accelerant: str,
    scheme: str,
    temperature: float,
    sites: Sublattices,
    references: list[dict[str, Any]],
    series: list[dict[str, Any]],
) -> SolubilityDoc:
    """The solubility limit from the free energy of mixing; E_hull versus x.

    Parameters
    ----------
    temperature
        Synthesis temperature (K) of the free energy.
    sites
        The scheme's sublattices (site counts per PS4) for the entropy.
    references
        :func:`~lpsflow.descriptors.reactions.jobs.phase_input` of Li2S, P2S5, S, the
        accelerant and the undoped products (Li3PS4, Li7P3S11, Li4P2S6).
    series
        One ``phase_input`` per x (its candidates: the relaxed arrangements), with an
        extra key ``x``.

    """
    refs = lowest_of(references)
    converged = all(s.converged for s in refs.values())
    entries = {p: PDEntry(s.structure.composition, s.energy) for p, s in refs.items()}
    per_fu = {p: s.energy_per_atom * Composition(p).num_atoms for p, s in refs.items()}
    mus = {c: chemical_potentials(per_fu, c) for c in CONDITIONS}
    doped = []
    for point in series:
        best, sums = pick_lowest(point["candidates"])
        s = sums[best]
        entry = PDEntry(s.structure.composition, s.energy)
        doped.append((point, entry, s, point["candidates"][best]["uuid"]))
    terminals = ["Li2S", "P2S5", accelerant, "S"]
    term_comps = [Composition(t) for t in terminals]

    def e_hull(entry: PDEntry, others: list[PDEntry]) -> tuple[float, dict]:
        """Energy of ``entry`` relative to the hull of ``others`` (meV/atom)."""
        cpd = CompoundPhaseDiagram(others, term_comps)
        (t,), _ = cpd.transform_entries([entry], cpd.terminal_compositions)
        decomp, e = cpd.get_decomp_and_e_above_hull(
            t, allow_negative=True, check_stable=False
        )
        per_atom = e * t.composition.num_atoms / entry.composition.num_atoms
        fractions = {
            d.original_entry.composition.reduced_formula: round(float(f), 6)
            for d, f in decomp.items()
        }
        return 1000 * per_atom, fractions

    points = []
    for point, entry, s, uuid in doped:
        e, decomp = e_hull(entry, list(entries.values()))
        converged &= s.converged
        composition = entry.composition
        e_sol = solution_energies(s.energy, composition, accelerant, per_fu, mus)
        x = point["x"]
        points.append(
            SolubilityPoint(
                x=x,
                formula=composition.formula.replace(" ", ""),
                e_above_hull=e,
                decomposition=decomp,
                e_sol=e_sol,
                entropy=entropy(x, sites),
                free_energy={
                    c: 1000 * (x * v - K_B * temperature * entropy(x, sites))
                    for c, v in e_sol.items()
                },
                converged=s.converged,
                job_uuid=uuid,
            )
        )
    points.sort(key=lambda p: p.x)
    limits = {c: _limit(points, c, sites, temperature) for c in CONDITIONS}
    head = limits[CONDITIONS[0]]
    return SolubilityDoc(
        accelerant=accelerant,
        scheme=scheme,
        terminals=terminals,
        temperature=temperature,
        sites=sites,
        points=points,
        limits=limits,
        solubility_limit=head.x,
        limit_label=head.label,
        converged=converged,
        hull_phases={
            p: e_hull(entries[p], [e for q, e in entries.items() if q != p])[0]
            for p in ("Li3PS4", "Li7P3S11")
            if p in entries
        },
    )


def _label(m: Minimum, xs: list[float]) -> str:
    if m.at_max:
        return f">= {x_label(xs[-1])}"
    if m.below:
        return f"< {X_MIN:g}"
    return x_label(m.x) if m.x in xs else f"{m.x:.2g}"


def _limit(
    points: list[SolubilityPoint], condition: str, sites: Sublattices, t: float
) -> SolubilityLimit:
    """The limit under one condition (free and bound defects), and what it rests on."""
    pairs = [(p.x, p.e_sol[condition]) for p in points]
    xs = [p.x for p in points]
    free, tied = (
        solubility_limit(pairs, sites, t),
        solubility_limit(pairs, bound(sites), t),
    )
    if free.at_max:
        rests_on = [xs[-1]]
    else:
        below = [v for v in xs if v <= free.x]
        above = [v for v in xs if v > free.x]
        rests_on = [*below[-1:], *above[:1]] if below else [xs[0]]
    return SolubilityLimit(
        x=free.x,
        at_max=free.at_max,
        label=_label(free, xs),
        rests_on=rests_on,
        x_bound=tied.x,
        bound_at_max=tied.at_max,
        label_bound=_label(tied, xs),
        two_phase=[list(g) for g in free.two_phase],
    )
