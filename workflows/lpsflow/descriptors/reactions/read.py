"""Reaction energies: the doped core's and the shared products' columns, formation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lpsflow import roles
from lpsflow.descriptors.base import (
    FAIL,
    NOT_COMPUTED,
    PASS,
    Verdict,
    difference,
    missing,
    number,
)

if TYPE_CHECKING:
    import pandas as pd

    from lpsflow.analysis.ranking import RankingConfig
    from lpsflow.descriptors.base import RowContext

#: Products whose reaction energies every row shows (shared by all accelerants).
SHARED_PRODUCTS = ("Li7P3S11", "Li4P2S6", "Li3PS4")


def columns(ctx: RowContext) -> dict[str, Any]:
    """dE_core, the shared products' dE, their difference, state and job ids."""
    uuid, out = ctx.job(roles.core_reaction(ctx.accelerant, ctx.scheme))
    shared = {p: ctx.job(roles.reaction(p)) for p in SHARED_PRODUCTS}
    row: dict[str, Any] = {
        "core": out["product"] if out else None,
        "dE_core": out["energy_per_atom"] if out else None,
    }
    for product, (_, p_out) in shared.items():
        row[f"dE_{product}"] = p_out["energy_per_atom"] if p_out else None
    row["dE_core_minus_Li7P3S11"] = difference(row["dE_core"], row["dE_Li7P3S11"])
    used = [out, *(o for _, o in shared.values())]
    row["converged"] = all(o is not None and o["converged"] for o in used)
    states = [ctx.state(uuid)] + [ctx.state(u) for u, _ in shared.values() if u]
    row["state"] = (
        "failed" if "failed" in states else "pending" if "pending" in states else "done"
    )
    row["calculator"] = ctx.calculator
    row["job_core"] = uuid
    for product, (p_uuid, _) in shared.items():
        row[f"job_{product}"] = p_uuid
    row["p2s5_sensitivity_core"] = out["p2s5_sensitivity"] if out else None
    return row


def preferred(df: pd.DataFrame) -> pd.DataFrame:
    """Mark each accelerant's scheme of lowest dE_core (``preferred``)."""
    df["preferred"] = False
    for _acc, group in df.groupby("accelerant"):
        valid = group["dE_core"].dropna()
        if not valid.empty:
            df.loc[valid.idxmin(), "preferred"] = True
    return df


JOBS = {
    "dE_core": ("job_core",),
    **{f"dE_{p}": (f"job_{p}",) for p in SHARED_PRODUCTS},
    "dE_core_minus_Li7P3S11": ("job_core", "job_Li7P3S11"),
    "p2s5_sensitivity_core": ("job_core",),
    "preferred": ("job_core",),
}


def formation(row: Mapping[str, Any], cfg: RankingConfig) -> Verdict:
    """The doped core forms before Li7P3S11: dE_core - dE_Li7P3S11 < margin."""
    d = number(row, "dE_core_minus_Li7P3S11")
    if d is None:
        return None, "-", NOT_COMPUTED, missing(row, ["dE_core_minus_Li7P3S11"])
    ok = d < cfg.formation_margin
    rel = "below" if ok else "not below"
    return (
        d,
        f"{d:+.4f}",
        PASS if ok else FAIL,
        f"dE_core - dE_Li7P3S11 = {d:+.4f} eV/atom, {rel} {cfg.formation_margin:g}: "
        + ("the core is driven to form first" if ok else "Li7P3S11 is favoured"),
    )
