"""The surface-energy jobs of a campaign: each listed Li7P3S11 plane, once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow.calculators.base import INTERFACE
from lpsflow.descriptors.surfaces.flow import SurfaceEnergyMaker

if TYPE_CHECKING:
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
