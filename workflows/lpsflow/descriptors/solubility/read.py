"""Solubility: the x that minimises the free energy of mixing; E_hull beside it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lpsflow import roles
from lpsflow.descriptors.base import FAIL, NOT_COMPUTED, PASS, Verdict, missing, number
from lpsflow.descriptors.solution_energy.schema import CONDITIONS
from lpsflow.roles import x_label

if TYPE_CHECKING:
    from lpsflow.analysis.ranking import RankingConfig
    from lpsflow.descriptors.base import RowContext


def columns(ctx: RowContext) -> dict[str, Any]:
    """x_sol and its label under both conditions, T, E_hull and dF at each x."""
    uuid, sol = ctx.job(roles.solubility(ctx.accelerant, ctx.scheme))
    head, other = CONDITIONS
    limits = sol["limits"] if sol and "limits" in sol else {}
    by_x = (lambda f: {x_label(p["x"]): f(p) for p in sol["points"]}) if sol else None
    return {
        "x_solubility": sol["solubility_limit"] if sol else None,
        "solubility": sol["limit_label"] if sol else None,
        "solubility_Li2S_rich": limits[other]["label"] if other in limits else None,
        "synthesis_T": sol.get("temperature") if sol else None,
        "e_hull_meV_by_x": by_x(lambda p: round(p["e_above_hull"], 3)) if sol else None,
        "dF_meV_by_x": (
            by_x(lambda p: round(p["free_energy"][head], 3)) if limits else None
        ),
        "job_solubility": uuid,
    }


JOBS = {
    c: ("job_solubility",)
    for c in (
        "x_solubility",
        "solubility",
        "solubility_Li2S_rich",
        "synthesis_T",
        "e_hull_meV_by_x",
        "dF_meV_by_x",
    )
}


def limited(row: Mapping[str, Any], cfg: RankingConfig) -> Verdict:
    """A limit inside the series: mixing stops lowering F below x_max.

    The headline condition (a core beside Li7P3S11) decides; the Li2S-rich limit is
    given in the reason.
    """
    label = row.get("solubility")
    if not isinstance(label, str) or not label:
        return None, "-", NOT_COMPUTED, missing(row, ["x_solubility", "solubility"])
    x = number(row, "x_solubility")
    rich = row.get("solubility_Li2S_rich")
    beside = f" (beside Li2S: {rich})" if isinstance(rich, str) else ""
    if label.startswith(">="):
        return (
            x,
            label,
            FAIL,
            f"x_sol {label}{beside}: mixing still lowers the free energy at the "
            "largest x computed, so the accelerant is not shown to be limited",
        )
    return (
        x,
        label,
        PASS,
        f"x_sol = {label}{beside}: the free energy of mixing is lowest there, so "
        "accelerant beyond it stays unreacted and raises the residual P/S",
    )
