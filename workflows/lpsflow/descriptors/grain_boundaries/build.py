"""The GB jobs of a campaign: core and hetero per accelerant, homo once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lpsflow.calculators.base import GRAIN_BOUNDARY, NORMAL
from lpsflow.descriptors.grain_boundaries.flow import GrainBoundaryMaker

if TYPE_CHECKING:
    from lpsflow.flows.campaign import CampaignBuild


def build(b: CampaignBuild) -> None:
    """gamma_GB of the campaign's ``grain_boundaries.kinds``."""
    c = b.campaign
    gbs = c.grain_boundaries
    if not (gbs.enabled and b.accelerants):
        return
    li7 = b.relaxed["Li7P3S11"]
    for acc in b.accelerants:
        for kind in ("core", "hetero"):
            if kind not in gbs.kinds:
                continue
            _, hosts = b.core_cells(acc, c.gb_kind_x(kind))
            if hosts:
                grain_boundary(b, kind, acc.formula, hosts, [li7])
    if "homo" in gbs.kinds:
        grain_boundary(b, "homo", "Li7P3S11", [li7], None)


def grain_boundary(
    b: CampaignBuild,
    kind: str,
    label: str,
    a_jobs: list[Any],
    b_jobs: list[Any] | None,
) -> Any:
    """One GB of the campaign's ``grain_boundaries`` settings; its energy output."""
    gbs = b.campaign.grain_boundaries
    st = getattr(gbs, kind)
    cell = NORMAL if gbs.relax_normal else False
    maker = GrainBoundaryMaker(
        kind=kind,
        miller_a=st.miller_a,
        miller_b=st.miller_b,
        settings=st.builder_settings(),
        relax_maker=b.backend.relax_maker(GRAIN_BOUNDARY, cell, fmax=gbs.fmax),
        **b.mlip,
    )
    return b.book.take(
        maker.make(
            label,
            a_jobs,
            b_jobs if kind == "hetero" else None,
            parent=b.structure("Li3PS4") if kind == "core" else None,
        )
    )
