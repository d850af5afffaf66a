"""Solubility in ``lpsflow results`` and in the report (E_hull versus x)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow.descriptors.base import fmt
from lpsflow.plots import COLORS, figure, ok, png
from lpsflow.report_render import Figure, Placeholder, Section, Table
from lpsflow.roles import x_of

if TYPE_CHECKING:
    import pandas as pd


def summary(df: pd.DataFrame) -> Section | None:
    """E_hull at each x per accelerant and scheme, and the limit."""
    rows = _with_series(df)
    if rows.empty:
        return None
    return Section(
        "solubility",
        f"Solubility: largest x whose doped cell stays below "
        f"{rows['hull_threshold_meV'].iloc[0]:g} meV/atom above the hull of the "
        "undoped phases; E_hull (meV/atom, negative: below it) by x",
        [_table(rows)],
    )


def _table(rows: pd.DataFrame) -> Table:
    xs = sorted({k for d in rows["e_hull_meV_by_x"] for k in d}, key=x_of)
    return Table(
        ["accelerant", *(f"x = {x}" for x in xs), "threshold", "x_sol"],
        [
            [
                f"{r['accelerant']} {r['scheme']}",
                *(fmt(r["e_hull_meV_by_x"].get(x), "+.1f") for x in xs),
                fmt(r["hull_threshold_meV"], "g"),
                str(r["solubility"]),
            ]
            for _, r in rows.iterrows()
        ],
    )


def _with_series(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["e_hull_meV_by_x"].map(lambda v: isinstance(v, dict) and bool(v))]


def section(df: pd.DataFrame, points: pd.DataFrame | None = None) -> Section:
    """E_hull versus x: figure and table."""
    title = "Energy above hull versus x"
    rows = _with_series(df)
    if rows.empty:
        why = "doping.solubility_x is empty or the solubility jobs have not finished"
        block = Placeholder("Energy above hull vs x", why)
        return Section("solubility", title, [block])
    table = _table(rows)
    table.caption = (
        "Energy above the hull of the undoped phases (meV/atom; negative: stable "
        "against them)."
    )
    fig = Figure(
        "hull_vs_x",
        hull_vs_x(rows),
        "Energy above hull versus dopant content x; dashed: stability threshold; "
        "dotted: solubility limit.",
    )
    return Section("solubility", title, [fig, table])


def hull_vs_x(df: pd.DataFrame) -> bytes:
    """Energy above the hull of the undoped phases versus x, threshold and limit."""
    fig = figure(7.0, 4.2)
    ax = fig.add_subplot()
    rows = _with_series(df)
    multi = rows["calculator"].nunique() > 1 if "calculator" in rows else False
    for i, (_, row) in enumerate(rows.iterrows()):
        color = COLORS[i % len(COLORS)]
        pts = sorted((x_of(k), v) for k, v in row["e_hull_meV_by_x"].items())
        xs, es = zip(*pts, strict=True)
        name = f"{row['accelerant']} {row['scheme']}" + (
            f" ({row['calculator']})" if multi else ""
        )
        ax.plot(xs, es, "o-", color=color, label=f"{name}: x_sol {row['solubility']}")
        if ok(row["x_solubility"]):
            ax.axvline(row["x_solubility"], color=color, ls=":", lw=1.2)
    thresholds = sorted(set(rows["hull_threshold_meV"].dropna()))
    for t in thresholds:
        ax.axhline(t, color="grey", ls="--", lw=1, label=f"threshold {t:g} meV/atom")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel("x in the doped core (M per PS4)")
    ax.set_ylabel("E above hull of undoped phases (meV/atom)")
    ax.set_title("Solubility: dotted line = limit (largest x below the threshold)")
    ax.legend(fontsize=8)
    return png(fig)
