"""Li chemical potential mu_Li = -min E_v of the core, Li7P3S11 and the hetero GB."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from lpsflow import roles
from lpsflow.descriptors import spread
from lpsflow.descriptors.base import Verdict, pair
from lpsflow.descriptors.spread import Sample, lowest
from lpsflow.finished import outputs_of_step

if TYPE_CHECKING:
    from lpsflow.analysis.ranking import RankingConfig
    from lpsflow.descriptors.base import RowContext
    from lpsflow.store import Stores

#: Vacancy energies (eV) closer than this are one state found twice.
E_V_TOL = 1e-3

#: Column suffix -> (role kind, label; None: the row's accelerant).
PHASES = {"core": ("core", None), "Li7P3S11": ("", "Li7P3S11"), "gb": ("gb", None)}


def columns(ctx: RowContext) -> dict[str, Any]:
    """mu_Li of the accelerant's core, of Li7P3S11 and of the hetero-GB sites."""
    row: dict[str, Any] = {}
    mu: dict[str, Sample] = {}
    for col, (kind, label) in PHASES.items():
        uuid, doc = ctx.job(roles.mu_li(kind, label or ctx.accelerant))
        mu[col] = _sampled(doc)
        row.update(mu[col].columns(f"mu_Li_{col}"))
        row[f"E_v_min_{col}"] = doc["e_v_min"] if doc else None
        row[f"job_mu_Li_{col}"] = uuid
    row.update(spread.difference(mu["core"], mu["Li7P3S11"]).columns("dmu_Li"))
    return row


def _sampled(doc: dict | None) -> Sample:
    """mu_Li = -min E_v and the gap to the next-lowest relaxed Li site's E_v.

    With every distinct Li site relaxed the minimum is exact: spread 0.
    """
    if not doc or doc["mu_li"] is None:
        return spread.NONE
    done = [v["e_v"] for v in doc["vacancies"] if v["converged"]]
    e_v = lowest(done, E_V_TOL)
    if len(done) >= doc["n_sites"]:
        return Sample(doc["mu_li"], 0.0, e_v.n)
    return Sample(doc["mu_li"], e_v.spread, max(e_v.n, 1))


JOBS = {
    **{
        f"{c}_{col}{s}": (f"job_mu_Li_{col}",)
        for col in PHASES
        for c, s in (
            ("mu_Li", ""),
            ("mu_Li", "_spread"),
            ("mu_Li", "_samples"),
            ("E_v_min", ""),
        )
    },
    **{
        f"dmu_Li{s}": ("job_mu_Li_core", "job_mu_Li_Li7P3S11")
        for s in ("", "_spread", "_samples")
    },
}


def points(stores: Stores, manifest: dict) -> pd.DataFrame | None:
    """mu_Li per phase: accelerant ("shared" for Li7P3S11), phase, mu_Li (eV).

    With mu_Li_spread (gap to the next relaxed Li site; None with one) and
    mu_Li_samples.
    """
    rows = []
    for role, doc in outputs_of_step(stores, manifest, "mu_li"):
        if doc["mu_li"] is None:
            continue
        if role.kind == "core":
            acc, phase = role.label, "core"
        elif role.kind == "gb":
            acc, phase = role.label, "hetero GB"
        else:
            acc, phase = "shared", role.label
        stat = _sampled(doc)
        rows.append(
            {
                "accelerant": acc,
                "phase": phase,
                "mu_Li": doc["mu_li"],
                "mu_Li_spread": stat.spread,
                "mu_Li_samples": stat.n,
            }
        )
    return pd.DataFrame(rows) if rows else None


def differs(row: Mapping[str, Any], cfg: RankingConfig) -> Verdict:
    """|mu_Li(core) - mu_Li(Li7P3S11)| >= mu_li_min: a drive for Li across the GB."""

    def test(core: float, li7: float) -> tuple[float, bool, str]:
        d = core - li7
        ok = abs(d) >= cfg.mu_li_min
        to = "Li7P3S11" if d > 0 else "the core"
        return (
            d,
            ok,
            f"mu_Li(core) - mu_Li(Li7P3S11) = {d:+.4f} eV "
            f"({'>=' if ok else '<'} {cfg.mu_li_min:g} in size): Li+ tends to move "
            f"towards {to}" + ("" if ok else ", too weakly to matter"),
        )

    return pair(
        row,
        "mu_Li_core",
        "mu_Li_Li7P3S11",
        test,
        margin=lambda d: abs(d) - cfg.mu_li_min,
        more="vacancies.relax_top relaxes more Li sites",
    )
