"""Solubility in ``lpsflow results`` and the report: dF of mixing, E_hull by x."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow.descriptors.base import fmt
from lpsflow.descriptors.solution_energy.schema import CONDITIONS
from lpsflow.plots import COLORS, figure, ok, png
from lpsflow.report_render import Figure, Placeholder, Section, Table
from lpsflow.roles import x_of

if TYPE_CHECKING:
    import pandas as pd


def _title(rows: pd.DataFrame) -> str:
    t = rows["synthesis_T"].dropna()
    at = f"{t.iloc[0]:g} K" if len(t) else "T"
    return (
        f"Solubility: x_sol minimises dF = x E_sol - T S_conf per PS4 at {at} (M from "
        "its sulfide); its bounds beside Li7P3S11 and beside Li2S, from vacancies "
        "bound to the dopant to free; dF beside Li7P3S11 (meV per PS4, free) and "
        "E_hull (meV/atom above the undoped phases) by x"
    )


def _table(rows: pd.DataFrame) -> Table:
    xs = sorted({k for d in rows["e_hull_meV_by_x"] for k in d}, key=x_of)

    def cells(r, column: str, spec: str) -> list[str]:
        values = r[column] if isinstance(r[column], dict) else {}
        return [fmt(values.get(x), spec) for x in xs]

    return Table(
        [
            "accelerant",
            *(f"dF x={x}" for x in xs),
            *(f"E_hull x={x}" for x in xs),
            *(f"beside {c}" for c in CONDITIONS),
        ],
        [
            [
                f"{r['accelerant']} {r['scheme']}",
                *cells(r, "dF_meV_by_x", "+.2f"),
                *cells(r, "e_hull_meV_by_x", "+.1f"),
                *(_bounds(r, c) for c in CONDITIONS),
            ]
            for _, r in rows.iterrows()
        ],
    )


def _bounds(r, condition: str) -> str:
    b = r.get("solubility_bounds")
    if not isinstance(b, dict) or condition not in b:
        return "-"
    return f"{b[condition]['low_label']} to {b[condition]['high_label']}"


def _with_series(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["e_hull_meV_by_x"].map(lambda v: isinstance(v, dict) and bool(v))]


def summary(df: pd.DataFrame) -> Section | None:
    """DF and E_hull at each x per accelerant and scheme, and the limits."""
    rows = _with_series(df)
    if rows.empty:
        return None
    return Section("solubility", _title(rows), [_table(rows)])


def section(df: pd.DataFrame, points: pd.DataFrame | None = None) -> Section:
    """The free energy of mixing versus x: figure and table."""
    title = "Free energy of mixing and solubility limit"
    rows = _with_series(df)
    if rows.empty:
        why = "doping.solubility_x is empty or the solubility jobs have not finished"
        block = Placeholder("Free energy of mixing vs x", why)
        return Section("solubility", title, [block])
    table = _table(rows)
    table.caption = _title(rows) + "."
    fig = Figure(
        "mixing_vs_x",
        mixing_vs_x(rows),
        "Free energy of mixing per PS4 at the computed x (beside Li7P3S11); dotted: "
        "the solubility limit, where it is inside the series.",
    )
    return Section("solubility", title, [fig, table])


def mixing_vs_x(df: pd.DataFrame) -> bytes:
    """DF per PS4 versus x, one line per accelerant and scheme, and the limits."""
    fig = figure(7.0, 4.2)
    ax = fig.add_subplot()
    rows = df[df["dF_meV_by_x"].map(lambda v: isinstance(v, dict) and bool(v))]
    for i, (_, row) in enumerate(rows.iterrows()):
        color = COLORS[i % len(COLORS)]
        pts = sorted((x_of(k), v) for k, v in row["dF_meV_by_x"].items())
        xs, fs = zip(*[(0.0, 0.0), *pts], strict=True)
        name = f"{row['accelerant']} {row['scheme']}: x_sol {row['solubility']}"
        ax.plot(xs, fs, "o-", color=color, label=name)
        if ok(row["x_solubility"]) and not str(row["solubility"]).startswith(">="):
            ax.axvline(row["x_solubility"], color=color, ls=":", lw=1.2)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel("x in the doped core (M per PS4)")
    ax.set_ylabel("dF of mixing (meV per PS4)")
    ax.legend(fontsize=8)
    return png(fig)
