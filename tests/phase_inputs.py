"""Relaxation outputs made by hand: a composition and an energy, for the jobs that
read only those (reaction energies, hulls, solution energies)."""

from __future__ import annotations

from pymatgen.core import Composition, Lattice, Structure


def cell(formula: str) -> Structure:
    """Any structure of the right composition (only composition and energy count)."""
    comp = Composition(formula)
    species = [el for el, n in comp.items() for _ in range(int(n))]
    coords = [[i / len(species), 0, 0] for i in range(len(species))]
    return Structure(Lattice.cubic(3 * len(species)), species, coords)


def phase_input_of(
    phase: str, formula: str, e_per_atom: float, converged=True, **extra
):
    """A ``phase_input`` of one converged (or not) relaxation with that energy."""
    s = cell(formula)
    doc = {
        "forcefield_name": "MLFF.CHGNet",
        "is_force_converged": converged,
        "output": {"energy": e_per_atom * len(s), "n_steps": 3},
        "structure": s.as_dict(),
    }
    return {
        "phase": phase,
        "formula": formula,
        "candidates": [{"doc": doc, "uuid": f"uuid-{formula}"}],
        **extra,
    }
