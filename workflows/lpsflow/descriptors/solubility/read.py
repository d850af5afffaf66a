"""Solubility: the largest x whose doped cell stays below the hull threshold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lpsflow import roles
from lpsflow.descriptors.base import FAIL, NOT_COMPUTED, PASS, Verdict, missing, number
from lpsflow.roles import x_label

if TYPE_CHECKING:
    from lpsflow.analysis.ranking import RankingConfig
    from lpsflow.descriptors.base import RowContext


def columns(ctx: RowContext) -> dict[str, Any]:
    """x_solubility, its label, the threshold and E_hull at each x."""
    uuid, sol = ctx.job(roles.solubility(ctx.accelerant, ctx.scheme))
    return {
        "x_solubility": sol["solubility_limit"] if sol else None,
        "solubility": sol["limit_label"] if sol else None,
        "hull_threshold_meV": sol["threshold"] if sol else None,
        "e_hull_meV_by_x": (
            {x_label(p["x"]): round(p["e_above_hull"], 3) for p in sol["points"]}
            if sol
            else None
        ),
        "job_solubility": uuid,
    }


JOBS = {
    c: ("job_solubility",)
    for c in ("x_solubility", "solubility", "hull_threshold_meV", "e_hull_meV_by_x")
}


def limited(row: Mapping[str, Any], cfg: RankingConfig) -> Verdict:
    """0 < x_sol, resolved inside the series (not '>= x_max', not '< x_min')."""
    label = row.get("solubility")
    if not isinstance(label, str) or not label:
        return None, "-", NOT_COMPUTED, missing(row, ["x_solubility", "solubility"])
    x = number(row, "x_solubility")
    if label.startswith(">="):
        return (
            x,
            label,
            FAIL,
            f"x_sol {label}: still below the hull threshold at the largest x "
            "computed, so not shown to be limited",
        )
    if x is None or label.startswith("<"):
        return (
            None,
            label,
            FAIL,
            f"x_sol {label}: above the hull threshold already at the smallest x "
            "computed; a non-zero solubility is not resolved (add smaller x to "
            "doping.solubility_x)",
        )
    if x <= 0:
        return x, label, FAIL, f"x_sol = {label}: no solubility"
    return (
        x,
        label,
        PASS,
        f"x_sol = {label} ({x:.4g}): non-zero and limited within the series, so "
        "accelerant beyond it stays unreacted and raises the residual P/S",
    )
