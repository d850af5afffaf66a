"""The reaction-energy jobs of a campaign: the shared products and each doped core."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow import roles
from lpsflow.descriptors.reactions.jobs import phase_input, reaction_energy_job

if TYPE_CHECKING:
    from lpsflow.flows.campaign import CampaignBuild

#: Products of the shared reactions: (product, reactants, products).
SHARED_REACTIONS = (
    ("Li3PS4", ["Li2S", "P2S5"], ["Li3PS4"]),
    ("Li7P3S11", ["Li2S", "P2S5"], ["Li7P3S11"]),
    ("Li4P2S6", ["Li2S", "P2S5"], ["Li4P2S6", "S"]),
)


def build(b: CampaignBuild) -> None:
    """dE_r of the shared products, and of each accelerant's core per scheme."""
    for product, reactants, products in SHARED_REACTIONS:
        job = reaction_energy_job(
            product,
            product,
            [b.species(p) for p in sorted(set(reactants + products))],
            reactants,
            products,
        )
        b.book.add(job, roles.reaction(product), name=f"reaction {product}", salt=False)
    x = b.campaign.doping.x
    for acc in b.accelerants:
        for scheme in b.schemes(acc):
            label = f"core {acc.formula} {scheme}"
            formula, relaxes = b.doped_cells(acc, scheme, x)
            species = [b.species(p) for p in ("Li2S", "P2S5", "S", acc.formula)]
            job = reaction_energy_job(
                label,
                acc.core_label(scheme, x),
                [*species, phase_input(label, formula, relaxes)],
                ["Li2S", "P2S5", acc.formula, "S"],
                [formula],
            )
            b.book.add(
                job,
                roles.core_reaction(acc.formula, scheme),
                name=f"reaction {label}",
                salt=False,
            )
