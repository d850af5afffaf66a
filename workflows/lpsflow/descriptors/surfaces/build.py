"""The surface-energy jobs of a campaign: each listed Li7P3S11 plane, once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow.calculators.base import INTERFACE
from lpsflow.descriptors.surfaces.flow import SurfaceEnergyMaker
from lpsflow.errors import StructureError

if TYPE_CHECKING:
    from lpsflow.campaign import Campaign
    from lpsflow.flows.campaign import CampaignBuild

#: The phase whose planes are compared (the interfaces' film).
PHASE = "Li7P3S11"


def build(b: CampaignBuild) -> None:
    """Gamma of every ``surfaces.millers`` plane of the relaxed Li7P3S11."""
    st = b.campaign.surfaces
    if not st.enabled:
        return
    relax = b.backend.relax_maker(INTERFACE, relax_cell=False, fmax=st.fmax)
    for miller in st.millers:
        maker = SurfaceEnergyMaker(
            miller=tuple(miller), min_slab=st.min_slab, relax_maker=relax, **b.mlip
        )
        b.book.take(maker.make(PHASE, [b.relax(PHASE)]))


def check_surfaces(campaign: Campaign) -> int:
    """Every ``surfaces.millers`` plane has a whole-unit termination (starting cell).

    A plane that can only be cut through P-S units becomes one clear error
    before anything runs. Returns the number of planes checked.
    """
    from lpsflow.structures.library import load_structure
    from lpsflow.structures.slabs import polyhedral_slabs

    st = campaign.surfaces
    if not st.enabled:
        return 0
    bulk = load_structure(PHASE, campaign.structure_overrides)
    for miller in st.millers:
        try:
            polyhedral_slabs(bulk, tuple(miller), min_slab=st.min_slab)
        except StructureError as exc:
            raise StructureError(
                f"surfaces.millers {list(miller)}: {exc}; drop the plane from "
                "surfaces.millers in the campaign file"
            ) from exc
    return len(st.millers)
