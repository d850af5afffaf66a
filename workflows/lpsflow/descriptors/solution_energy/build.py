"""The solution-energy jobs of a campaign: one per accelerant and scheme."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow.descriptors.solution_energy.jobs import RESERVOIRS, solution_energy_job
from lpsflow.descriptors.solution_energy.read import role

if TYPE_CHECKING:
    from lpsflow.flows.campaign import CampaignBuild


def build(b: CampaignBuild) -> None:
    """E_sol per dopant at ``doping.x`` and each ``doping.solubility_x``.

    On the doped cells the reactions and solubility descriptors relax anyway: no
    calculation of its own.
    """
    doping = b.campaign.doping
    for acc in b.accelerants:
        refs = [b.species(p) for p in (*RESERVOIRS, acc.formula)]
        for scheme in b.schemes(acc):
            series = b.series(acc, scheme)
            job = solution_energy_job(acc.formula, scheme, doping.x, refs, series)
            b.book.add(
                job,
                role(acc.formula, scheme),
                name=f"solution energy {acc.formula} {scheme}",
                salt=False,
            )
