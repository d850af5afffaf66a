"""The vacancy jobs of a campaign: mu_Li of each core, hetero GB and Li7P3S11."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow import roles
from lpsflow.calculators.base import DOPED_CORE, GRAIN_BOUNDARY
from lpsflow.descriptors.mu_li.flow import ChemicalPotentialMaker

if TYPE_CHECKING:
    from lpsflow.flows.campaign import CampaignBuild


def build(b: CampaignBuild) -> None:
    """mu_Li = -min E_v over the distinct Li sites of each host."""
    c = b.campaign
    vac = c.vacancies
    if not (vac.enabled and b.accelerants):
        return
    li = b.relaxed["Li"]
    x = vac.core_x or c.interfaces.core_x or c.doping.x
    for acc in b.accelerants:
        scheme, hosts = b.core_cells(acc, x)
        if hosts:
            b.book.take(
                maker(b, DOPED_CORE).make(
                    roles.mu_li("core", acc.formula),
                    f"{acc.formula} core {scheme}",
                    hosts,
                    li,
                )
            )
        gb = b.output(roles.gb_energy("hetero", acc.formula)) if vac.gb else None
        if gb is not None:
            b.book.take(
                maker(b, GRAIN_BOUNDARY, region="gb").make(
                    roles.mu_li("gb", acc.formula),
                    f"{acc.formula} hetero GB",
                    [gb],
                    li,
                    region="gb",
                )
            )
    b.book.take(
        maker(b, "Li7P3S11").make(
            roles.mu_li("", "Li7P3S11"), "Li7P3S11", [b.relaxed["Li7P3S11"]], li
        )
    )


def maker(b: CampaignBuild, phase: str, region: str = "bulk") -> ChemicalPotentialMaker:
    """The mu_Li Maker of the campaign's ``vacancies`` settings for one phase."""
    c = b.campaign
    cfg = c.vacancies
    # GB-site vacancies relax in the GB cell, to the GB relaxations' tolerance
    fmax = (c.grain_boundaries.fmax or cfg.fmax) if region == "gb" else cfg.fmax
    return ChemicalPotentialMaker(
        relax_maker=b.backend.relax_maker(phase, relax_cell=False, fmax=fmax),
        static_maker=b.backend.static_maker(phase),
        min_length=cfg.min_length,
        relax_top=cfg.relax_top,
        gb_window=cfg.gb_window,
        **b.mlip,
    )
