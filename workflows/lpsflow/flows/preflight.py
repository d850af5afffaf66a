"""Pre-flight checks of a campaign on its starting structures, before any job.

:func:`lpsflow.flows.campaign.build_campaign` runs them, so the API and every
command (``validate``, ``run``, ``submit``) check the same things: an interface
with no lattice match, a GB with no coincidence cell, a NEB request no hop
satisfies or a surface plane with no whole-unit termination is one clear error
naming the setting to change, instead of failed jobs hours later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lpsflow.descriptors.binding.flow import check_lattice_matches
from lpsflow.descriptors.grain_boundaries.flow import check_grain_boundaries
from lpsflow.descriptors.migration.flow import check_hops
from lpsflow.descriptors.surfaces.build import check_surfaces

if TYPE_CHECKING:
    from lpsflow.campaign import Campaign


def check(campaign: Campaign) -> dict[str, Any]:
    """Lattice matches of the interfaces and GBs (by name), and the hop requests.

    Raises :class:`~lpsflow.errors.StructureError` if a match or a hop does not
    exist.
    """
    matches = {f"{k} interface": m for k, m in check_lattice_matches(campaign).items()}
    gbs = check_grain_boundaries(campaign)
    check_hops(campaign)
    check_surfaces(campaign)
    return matches | {f"{k} GB": m for k, m in gbs.items()}
