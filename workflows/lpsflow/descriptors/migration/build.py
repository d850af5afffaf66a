"""The NEB jobs of a campaign: per accelerant and Li7P3S11, along a GB and in bulk."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow import roles
from lpsflow.calculators.base import DOPED_CORE
from lpsflow.descriptors.migration.flow import neb_maker

if TYPE_CHECKING:
    from lpsflow.flows.campaign import CampaignBuild


def build(b: CampaignBuild) -> None:
    """Climbing-image NEB of the campaign's ``neb.paths``.

    Along a GB: the accelerant's hetero GB (else its core GB) and the homo GB, as
    the ``grain_boundaries`` descriptor built them; in bulk: the core at
    ``neb.core_x`` (default ``doping.x``) and Li7P3S11.
    """
    c = b.campaign
    neb = c.neb
    if not (neb.enabled and b.accelerants):
        return
    paths = [p for p in ("gb", "bulk") if p in neb.paths]
    along = neb_maker(neb, "gb", c.calculator, b.backend)
    for acc in b.accelerants:
        _, hosts = b.core_cells(acc, c.neb_core_x)
        gb = b.output(roles.gb_energy("hetero", acc.formula))
        if gb is None:
            gb = b.output(roles.gb_energy("core", acc.formula))
        if "gb" in paths and gb is not None:
            b.book.take(along.make(acc.formula, gb))
        if "bulk" in paths and hosts:
            maker = neb_maker(neb, "bulk", c.calculator, b.backend, phase=DOPED_CORE)
            b.book.take(maker.make(acc.formula, hosts))
    homo = b.output(roles.gb_energy("homo", "Li7P3S11"))
    li7 = b.relaxed["Li7P3S11"]
    if "gb" in paths and homo is not None:
        b.book.take(along.make("Li7P3S11", homo))
    if "bulk" in paths:
        maker = neb_maker(neb, "bulk", c.calculator, b.backend, phase="Li7P3S11")
        b.book.take(maker.make("Li7P3S11", [li7]))
