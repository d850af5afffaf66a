"""Reaction energies: the doped core's and the shared products' columns, formation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pymatgen.core import Composition

from lpsflow import roles
from lpsflow.descriptors import spread
from lpsflow.descriptors.base import (
    NOT_COMPUTED,
    Verdict,
    missing,
    number,
)
from lpsflow.descriptors.spread import Sample, decide, lowest
from lpsflow.roles import Role
from lpsflow.structures.doping_sites import dopant_coordination

if TYPE_CHECKING:
    import pandas as pd

    from lpsflow.analysis.ranking import RankingConfig
    from lpsflow.descriptors.base import RowContext

#: Energies per atom (eV/atom) closer than this are one state found twice.
ENERGY_TOL = 1e-5

#: Products whose reaction energies every row shows (shared by all accelerants).
SHARED_PRODUCTS = ("Li7P3S11", "Li4P2S6", "Li3PS4")


def columns(ctx: RowContext) -> dict[str, Any]:
    """dE_core, the shared products' dE, their difference, state and job ids."""
    uuid, out = ctx.job(roles.core_reaction(ctx.accelerant, ctx.scheme))
    shared = {p: ctx.job(roles.reaction(p)) for p in SHARED_PRODUCTS}
    screen_uuid, screen = ctx.job(
        Role("screen", ctx.accelerant, branch="core", scheme=ctx.scheme)
    )
    core = sampled(out, {out.get("label", ""): arrangements(ctx)} if out else {})
    row: dict[str, Any] = {"core": out["product"] if out else None}
    row.update(core.columns("dE_core"))
    for product, (_, p_out) in shared.items():
        row[f"dE_{product}"] = p_out["energy_per_atom"] if p_out else None
    li7 = sampled(shared["Li7P3S11"][1], {})
    row.update(spread.difference(core, li7).columns("dE_core_minus_Li7P3S11"))
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
    row["screened"], row["screen_stable"] = _screened(screen)
    row["job_screen"] = screen_uuid
    return row


def sampled(doc: dict | None, sampled_phases: dict[str, Sample]) -> Sample:
    """dE_r of a reaction document and how far its inputs could move it.

    Each input phase's gap (its :func:`lowest` candidates, or ``sampled_phases``'
    sample for a phase sampled elsewhere: the doped core's arrangements), weighted
    by d(dE_r)/d(E of that phase), adds to the spread. A phase relaxed from one
    start is a known crystal (spread 0), unless it is in ``sampled_phases``: one
    arrangement of the doped core leaves the spread unknown.
    """
    if not doc:
        return spread.NONE
    inputs = doc.get("inputs") or []
    n_atoms = sum(
        -i["coefficient"] * Composition(i["formula"]).num_atoms
        for i in inputs
        if i["coefficient"] < 0
    )
    total, n = 0.0, 1
    for i in inputs:
        cand = sampled_phases.get(i["phase"]) or lowest(
            i.get("candidate_energies") or [], ENERGY_TOL
        )
        if cand.spread is None:
            if i["phase"] in sampled_phases:
                return Sample(doc["energy_per_atom"], None, max(cand.n, 1))
            continue
        weight = abs(i["coefficient"]) * Composition(i["formula"]).num_atoms / n_atoms
        total += weight * cand.spread
        n = max(n, cand.n)
    return Sample(doc["energy_per_atom"], total, n)


def arrangements(ctx: RowContext) -> Sample:
    """The row's doped core at the campaign's x: its relaxed arrangements.

    Value: the lowest energy per atom; spread: the gap to the next (eV/atom), 0
    where every distinct arrangement was relaxed; n: distinct energies relaxed
    into (arrangements within ``ENERGY_TOL`` eV/atom count once).
    """
    _, out = ctx.job(roles.core_reaction(ctx.accelerant, ctx.scheme))
    inputs = out.get("inputs") or [] if out else []
    cells = [i for i in inputs if i["phase"] == out.get("label")]
    if not cells:
        return spread.NONE
    energies = cells[0].get("candidate_energies") or []
    sample = lowest(energies, ENERGY_TOL)
    _, screen = ctx.job(
        Role("screen", ctx.accelerant, branch="core", scheme=ctx.scheme)
    )
    relaxed = sum(e is not None for e in energies)
    if screen and sample.value is not None and relaxed >= screen["n_distinct"]:
        return Sample(sample.value, 0.0, sample.n)
    return sample


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
    "dE_core_spread": ("job_core",),
    "dE_core_samples": ("job_core",),
    **{
        f"dE_core_minus_Li7P3S11{s}": ("job_core", "job_Li7P3S11")
        for s in ("", "_spread", "_samples")
    },
    "p2s5_sensitivity_core": ("job_core",),
    "preferred": ("job_core",),
    "dopant_CN": ("job_core_cell",),
    "screened": ("job_screen",),
    "screen_stable": ("job_screen",),
}


def formation(row: Mapping[str, Any], cfg: RankingConfig) -> Verdict:
    """The doped core forms before Li7P3S11: dE_core - dE_Li7P3S11 < margin.

    Undecided where the difference lies within its spread of the margin (the gap
    to the core's next dopant arrangement).
    """
    col = "dE_core_minus_Li7P3S11"
    d = number(row, col)
    if d is None:
        return None, "-", NOT_COMPUTED, missing(row, [col])
    ok = d < cfg.formation_margin
    rel = "below" if ok else "not below"
    status, reason = decide(
        ok,
        d - cfg.formation_margin,
        row,
        [col],
        f"dE_core - dE_Li7P3S11 = {d:+.4f} eV/atom, {rel} {cfg.formation_margin:g}: "
        + ("the core is driven to form first" if ok else "Li7P3S11 is favoured"),
        more="doping.relax_top relaxes more arrangements",
    )
    return d, f"{d:+.4f}", status, reason
