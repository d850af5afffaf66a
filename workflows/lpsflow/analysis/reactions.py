"""Reaction energies from computed total energies, balanced with pymatgen.

dG_r is approximated by dE_r (as in the study). Energies are reported per atom of the
reaction: the reaction energy divided by the number of atoms on one side (equal on
both sides of a balanced reaction).
"""

from __future__ import annotations

from dataclasses import dataclass

from pymatgen.analysis.reaction_calculator import Reaction, ReactionError
from pymatgen.core import Composition

from lpsflow.errors import CompositionError


@dataclass(frozen=True)
class Balanced:
    """A balanced reaction (coefficients: products positive, reactants negative)."""

    coefficients: dict[str, float]
    """Formula -> coefficient (reactants negative)."""
    text: str
    """pymatgen's string form, e.g. '3.5 Li2S + 1.5 P2S5 -> Li7P3S11'."""

    @property
    def n_atoms(self) -> float:
        """Atoms on the reactant side (= product side)."""
        return sum(
            -c * Composition(f).num_atoms for f, c in self.coefficients.items() if c < 0
        )


def balance(reactants: list[str], products: list[str]) -> Balanced:
    """Balance ``reactants -> products`` with pymatgen's :class:`Reaction`.

    Species that the balance does not need (e.g. S when the sulfur already balances)
    get coefficient 0 and are dropped. The first product is normalised to 1.
    """
    r_comps = [Composition(f) for f in reactants]
    p_comps = [Composition(f) for f in products]
    try:
        rxn = Reaction(r_comps, p_comps)
    except ReactionError as exc:
        raise CompositionError(
            f"cannot balance {' + '.join(reactants)} -> {' + '.join(products)}: {exc}"
        ) from exc
    rxn.normalize_to(p_comps[0])
    coeffs: dict[str, float] = {}
    for formula, comp in zip(
        [*reactants, *products], [*r_comps, *p_comps], strict=True
    ):
        try:
            c = float(rxn.get_coeff(comp))
        except ValueError:  # dropped by the balance
            continue
        if abs(c) > 1e-10:
            coeffs[formula] = c
    for formula in products[:1]:
        if coeffs.get(formula, 0) <= 0:
            raise CompositionError(f"{formula} cannot be formed from {reactants}")
    for formula in reactants:
        if coeffs.get(formula, 0) > 1e-10:
            raise CompositionError(
                f"balancing {reactants} -> {products} makes {formula} a product"
            )
    return Balanced(coefficients=coeffs, text=str(rxn))


def reaction_energy(balanced: Balanced, energy_per_atom: dict[str, float]) -> float:
    """Reaction energy per atom (eV/atom) from each species' energy per atom."""
    missing = set(balanced.coefficients) - set(energy_per_atom)
    if missing:
        raise KeyError(f"no energy for {sorted(missing)}")
    total = sum(
        c * Composition(f).num_atoms * energy_per_atom[f]
        for f, c in balanced.coefficients.items()
    )
    return total / balanced.n_atoms


def sensitivity(balanced: Balanced, formula: str) -> float:
    """d(dE_r per atom) / d(energy per atom of ``formula``).

    Shows how much an error in one reference (e.g. P2S5, whose molecular crystal an
    MLIP without dispersion describes poorly) moves the reaction energy.
    """
    c = balanced.coefficients.get(formula, 0.0)
    return c * Composition(formula).num_atoms / balanced.n_atoms
