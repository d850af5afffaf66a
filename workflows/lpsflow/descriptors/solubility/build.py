"""The solubility jobs of a campaign: one series over x per accelerant and scheme."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow import roles
from lpsflow.descriptors.reactions.jobs import phase_input
from lpsflow.descriptors.solubility.jobs import solubility_job
from lpsflow.roles import x_label

if TYPE_CHECKING:
    from lpsflow.flows.campaign import CampaignBuild

#: The competing phases of the hull the doped cells are measured against.
REFERENCES = ("Li2S", "P2S5", "S", "Li3PS4", "Li7P3S11", "Li4P2S6")


def build(b: CampaignBuild) -> None:
    """E_hull of the doped cells at each ``doping.solubility_x`` (and ``doping.x``)."""
    doping = b.campaign.doping
    if not doping.solubility_x:
        return
    for acc in b.accelerants:
        refs = [b.species(p) for p in (*REFERENCES[:3], acc.formula, *REFERENCES[3:])]
        for scheme in b.schemes(acc):
            label = f"core {acc.formula} {scheme}"
            series = []
            for x in sorted({*doping.solubility_x, doping.x}):
                formula, relaxes = b.doped_cells(acc, scheme, x)
                point = phase_input(f"{label} x={x_label(x)}", formula, relaxes)
                series.append({**point, "x": x})
            job = solubility_job(
                acc.formula, scheme, doping.hull_threshold, refs, series
            )
            b.book.add(
                job,
                roles.solubility(acc.formula, scheme),
                name=f"solubility {acc.formula} {scheme}",
                salt=False,
            )
