"""The interface jobs of a campaign: E_bind(n) hetero per accelerant, homo once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow.descriptors.binding.flow import binding_series_maker

if TYPE_CHECKING:
    from lpsflow.flows.campaign import CampaignBuild


def build(b: CampaignBuild) -> None:
    """Li7P3S11 films on each accelerant's doped core and on Li7P3S11 itself."""
    c = b.campaign
    ifc = c.interfaces
    if not (ifc.enabled and b.accelerants):
        return
    li7 = b.relaxed["Li7P3S11"]
    for acc in b.accelerants:
        _, hosts = b.core_cells(acc, ifc.core_x or c.doping.x)
        if hosts:
            maker = binding_series_maker(
                c, "hetero", ifc.core_miller, ifc.hetero, b.backend
            )
            b.book.take(maker.make(acc.formula, li7, hosts, host=b.relaxed["Li3PS4"]))
    maker = binding_series_maker(c, "homo", ifc.film_miller, ifc.homo, b.backend)
    b.book.take(maker.make("Li7P3S11", li7, [li7]))
