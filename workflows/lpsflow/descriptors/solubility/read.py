"""Solubility: the x that minimises the free energy of mixing; E_hull beside it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lpsflow import roles
from lpsflow.analysis.lps_series import available_x
from lpsflow.descriptors.base import (
    FAIL,
    NOT_COMPUTED,
    PASS,
    UNDECIDED,
    Verdict,
    missing,
    number,
)
from lpsflow.descriptors.solution_energy.schema import CONDITIONS
from lpsflow.roles import x_label

if TYPE_CHECKING:
    from lpsflow.analysis.ranking import RankingConfig
    from lpsflow.descriptors.base import RowContext


def columns(ctx: RowContext) -> dict[str, Any]:
    """x_sol and its label, its bounds under both conditions, T, E_hull and dF by x."""
    uuid, sol = ctx.job(roles.solubility(ctx.accelerant, ctx.scheme))
    head = CONDITIONS[0]
    limits = sol["limits"] if sol and "limits" in sol else {}
    by_x = (lambda f: {x_label(p["x"]): f(p) for p in sol["points"]}) if sol else None
    return {
        "x_solubility": sol["solubility_limit"] if sol else None,
        "solubility": sol["limit_label"] if sol else None,
        "solubility_bounds": (
            {
                c: {
                    "low": v["x_bound"],
                    "low_label": v["label_bound"],
                    "low_at_max": v["bound_at_max"],
                    "high": v["x"],
                    "high_label": v["label"],
                    "high_at_max": v["at_max"],
                }
                for c, v in limits.items()
            }
            if limits
            else None
        ),
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
        "solubility_bounds",
        "synthesis_T",
        "e_hull_meV_by_x",
        "dF_meV_by_x",
    )
}


def bounds_text(bounds: Mapping[str, Any]) -> str:
    """'beside Li7P3S11 1e-05 to >= 1/4; beside Li2S ...' (bound to free defects)."""
    return "; ".join(
        f"beside {c} {b['low_label']} to {b['high_label']}" for c, b in bounds.items()
    )


def _side(x: float, at_max: bool, floor: float, avail: float) -> str:
    if at_max:
        return "above" if x >= avail else "unknown"
    if x < floor:
        return "below"
    return "above" if x >= avail else "inside"


def limited(row: Mapping[str, Any], cfg: RankingConfig) -> Verdict:
    """The core takes up some of the accelerant but not all of it.

    Every bound of the limit (vacancies bound or free, beside Li7P3S11 or Li2S)
    between ``cfg.solubility_floor`` and the accelerant the sample
    ``cfg.solubility_sample`` brings: pass; all above it (or all below the
    floor): fail; otherwise undecided.
    """
    bounds = row.get("solubility_bounds")
    label = row.get("solubility")
    if not isinstance(bounds, Mapping) or not bounds:
        return None, "-", NOT_COMPUTED, missing(row, ["solubility_bounds"])
    avail = available_x(cfg.solubility_sample, str(row["accelerant"]))
    floor = cfg.solubility_floor
    sides = {
        _side(b[k], b[f"{k}_at_max"], floor, avail)
        for b in bounds.values()
        for k in ("low", "high")
    }
    x = number(row, "x_solubility")
    window = (
        f"window {floor:g} to {avail:.3g} ({cfg.solubility_sample}'s "
        f"{row['accelerant']} per P)"
    )
    text = f"x_sol {bounds_text(bounds)}; {window}"
    if sides == {"inside"}:
        return x, str(label), PASS, f"{text}: the core takes up part of the accelerant"
    if sides == {"above"}:
        return x, str(label), FAIL, f"{text}: the core would take up all of it"
    if sides == {"below"}:
        return x, str(label), FAIL, f"{text}: the core stays essentially undoped"
    return (
        x,
        str(label),
        UNDECIDED,
        f"{text}: the bounds fall on both sides of the window (or beyond the x "
        "computed), so the campaign cannot tell",
    )
