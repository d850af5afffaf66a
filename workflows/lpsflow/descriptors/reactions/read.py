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
from lpsflow.roles import Role
from lpsflow.structures.doping_sites import dopant_coordination

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
    row["dopant_CN"], row["job_core_cell"] = _dopant_site(ctx, out)
    screen_uuid, screen = ctx.job(
        Role("screen", ctx.accelerant, branch="core", scheme=ctx.scheme)
    )
    row["screened"], row["screen_stable"] = _screened(screen)
    row["job_screen"] = screen_uuid
    return row


def _screened(doc: dict | None) -> tuple[str | None, bool | None]:
    """Arrangements screened / distinct at the campaign's x; did the lowest hold.

    None for the second where the screen was one batch.
    """
    if not doc:
        return None, None
    n = doc.get("n_screened") or len(doc.get("candidates", []))
    complete = n >= doc["n_distinct"]  # every distinct one (or the whole sample)
    return f"{n}/{doc['n_distinct']}", True if complete else doc.get("stable")


def _dopant_site(ctx: RowContext, out: dict | None) -> tuple[str | None, str | None]:
    """S coordination of each dopant in the core's lowest cell, and that cell's job.

    What 27Al NMR tells apart (AlS4 / AlS6), after relaxation: a dopant put in an
    empty LiS6 site may leave it. The cell is the lowest converged relaxation of
    the row's doped cells at the campaign's x, as the reaction energy takes it.
    """
    from lpsflow.descriptors.reactions.jobs import pick_lowest  # jobs import us

    if not out:
        return None, None
    cells = [
        u
        for r, u in ctx.jobs.items()
        if r.step == "relax" and r.branch == "core" and r.label == ctx.accelerant
        and r.scheme == ctx.scheme and not r.x and u in ctx.outputs
    ]  # fmt: skip
    if not cells:
        return None, None
    best, sums = pick_lowest([{"doc": ctx.outputs[u]} for u in cells])
    cn = dopant_coordination(sums[best].structure)
    return ",".join(str(n) for n in sorted(set(cn))), cells[best]


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
    "dopant_CN": ("job_core_cell",),
    "screened": ("job_screen",),
    "screen_stable": ("job_screen",),
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
