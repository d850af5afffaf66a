"""Solubility of the dopant from the convex hull of the campaign's own entries.

The doped cores, Li2S, P2S5, S8, the accelerant MxSy and the undoped products live in
the Li2S-P2S5-MxSy(-S) composition space. Elemental P and M are not computed, so the
hull is a pymatgen :class:`CompoundPhaseDiagram` with those four compounds as
terminals; its energies per "terminal atom" are converted back to meV per real atom.
Phases outside that space (Li4P2S6 is S-poorer than Li2S + P2S5: its P-P bond
needs P4+) cannot take part in a doped core's decomposition there and are left out.

Each doped cell is measured against the hull of the undoped phases only (pymatgen's
phase-separation energy): negative means it is stable against decomposition into
them. Putting the series' own cells on the hull would make its highest-x member a
hull vertex by construction.
"""

from __future__ import annotations

from typing import Any

from jobflow import job
from pymatgen.analysis.phase_diagram import CompoundPhaseDiagram, PDEntry
from pymatgen.core import Composition

from lpsflow.descriptors.reactions.jobs import pick_lowest
from lpsflow.descriptors.solubility.schema import SolubilityDoc, SolubilityPoint
from lpsflow.jobs.identity import kind
from lpsflow.roles import x_label


def solubility_limit(
    points: list[tuple[float, float]], threshold: float
) -> float | None:
    """Largest x up to which every (x, E_hull) stays at or below ``threshold``."""
    limit = None
    for x, e_hull in sorted(points):
        if e_hull > threshold:
            break
        limit = x
    return limit


@job
@kind("solubility")
def solubility_job(
    accelerant: str,
    scheme: str,
    threshold: float,
    references: list[dict[str, Any]],
    series: list[dict[str, Any]],
) -> SolubilityDoc:
    """Energy above hull of the doped cells versus x, and the solubility limit.

    Parameters
    ----------
    references
        :func:`~lpsflow.descriptors.reactions.jobs.phase_input` of Li2S, P2S5, S, the
        accelerant
        and the undoped products.
    series
        One ``phase_input`` per x (its candidates: the relaxed arrangements), with an
        extra key ``x``.

    """
    entries: dict[str, PDEntry] = {}
    converged = True
    for ref in references:
        best, sums = pick_lowest(ref["candidates"])
        s = sums[best]
        converged &= s.converged
        entries[ref["phase"]] = PDEntry(s.structure.composition, s.energy)
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
        points.append(
            SolubilityPoint(
                x=point["x"],
                formula=entry.composition.formula.replace(" ", ""),
                e_above_hull=e,
                decomposition=decomp,
                converged=s.converged,
                job_uuid=uuid,
            )
        )
    points.sort(key=lambda p: p.x)
    limit = solubility_limit([(p.x, p.e_above_hull) for p in points], threshold)
    if limit is None:
        label = f"< {x_label(points[0].x)}"
    elif limit == points[-1].x:
        label = f">= {x_label(limit)}"
    else:
        label = x_label(limit)
    return SolubilityDoc(
        accelerant=accelerant,
        scheme=scheme,
        terminals=terminals,
        threshold=threshold,
        points=points,
        solubility_limit=limit,
        limit_label=label,
        converged=converged,
        hull_phases={
            p: e_hull(entries[p], [e for q, e in entries.items() if q != p])[0]
            for p in ("Li3PS4", "Li7P3S11")
            if p in entries
        },
    )
