"""Solution energy in ``lpsflow results`` and in the report (E_sol versus x)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow.descriptors import spread
from lpsflow.descriptors.base import fmt
from lpsflow.plots import COLORS, figure, png
from lpsflow.report_render import Figure, Placeholder, Section, Table
from lpsflow.roles import x_of

if TYPE_CHECKING:
    import pandas as pd

TITLE = (
    "Solution energy E_sol: eV per dopant to move M from its sulfide into Li3PS4, "
    "Li2S and P2S5 exchanged beside Li7P3S11 (a core + Li7P3S11 sample, as the "
    "study's; last column: beside Li2S); negative: it dissolves. +/- s (n): the "
    "gap to the next of n relaxed dopant arrangements"
)


def _with_series(df: pd.DataFrame) -> pd.DataFrame:
    if "E_sol_by_x" not in df:
        return df.iloc[0:0]
    return df[df["E_sol_by_x"].map(lambda v: isinstance(v, dict) and bool(v))]


def _table(rows: pd.DataFrame) -> Table:
    xs = sorted({k for d in rows["E_sol_by_x"] for k in d}, key=x_of)
    return Table(
        ["accelerant", *(f"x = {x}" for x in xs), "E_sol (core)", "Li2S-rich"],
        [
            [
                f"{r['accelerant']} {r['scheme']}",
                *(fmt(r["E_sol_by_x"].get(x), "+.3f") for x in xs),
                spread.show(r, "E_sol"),
                spread.show(r, "E_sol_Li2S_rich"),
            ]
            for _, r in rows.iterrows()
        ],
    )


def summary(df: pd.DataFrame) -> Section | None:
    """E_sol at each x per accelerant and scheme."""
    rows = _with_series(df)
    if rows.empty:
        return None
    return Section("solution_energy", TITLE, [_table(rows)])


def section(df: pd.DataFrame, points: pd.DataFrame | None = None) -> Section:
    """E_sol versus x: figure and table."""
    rows = _with_series(df)
    title = "Solution energy per dopant versus x"
    if rows.empty:
        why = "the solution-energy jobs have not finished"
        return Section("solution_energy", title, [Placeholder("E_sol vs x", why)])
    table = _table(rows)
    table.caption = TITLE + "."
    fig = Figure(
        "solution_vs_x",
        solution_vs_x(rows),
        "Solution energy per dopant versus dopant content x (lowest arrangement of "
        "each x); below zero the dopant enters Li3PS4.",
    )
    return Section("solution_energy", title, [fig, table])


def solution_vs_x(rows: pd.DataFrame) -> bytes:
    """E_sol per dopant versus x, one line per accelerant and scheme."""
    fig = figure(7.0, 4.2)
    ax = fig.add_subplot()
    for i, (_, row) in enumerate(rows.iterrows()):
        pts = sorted((x_of(k), v) for k, v in row["E_sol_by_x"].items())
        xs, es = zip(*pts, strict=True)
        name = f"{row['accelerant']} {row['scheme']}"
        ax.plot(xs, es, "o-", color=COLORS[i % len(COLORS)], label=name)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel("x in the doped core (M per PS4)")
    ax.set_ylabel("E_sol (eV per dopant)")
    ax.legend(fontsize=8)
    return png(fig)
