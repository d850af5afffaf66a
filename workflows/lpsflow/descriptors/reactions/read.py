"""Reaction energies: the doped core's and the shared products' columns, formation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pymatgen.core import Composition

from lpsflow import roles
from lpsflow.calculators.outputs import summarize
from lpsflow.descriptors.base import (
    FAIL,
    NOT_COMPUTED,
    PASS,
    Verdict,
    difference,
    missing,
    number,
)
from lpsflow.structures.accelerant import parse_accelerant
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
    return row


def _dopant_site(ctx: RowContext, out: dict | None) -> tuple[str | None, str | None]:
    """S coordination of each dopant in the core's lowest cell, and that cell's job.

    What 27Al NMR tells apart (AlS4 / AlS6), after relaxation: a dopant put in an
    empty LiS6 site may leave it.
    """
    if not out:
        return None, None
    acc = parse_accelerant(ctx.accelerant)
    core = next(
        (i for i in out["inputs"] if i["coefficient"] > 0 and acc.cation in
         Composition(i["formula"])), None,
    )  # fmt: skip
    doc = ctx.outputs.get(core["job_uuid"]) if core else None
    if doc is None:
        return None, core["job_uuid"] if core else None
    cn = dopant_coordination(summarize(doc).structure)
    return ",".join(str(n) for n in sorted(set(cn))), core["job_uuid"]


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
