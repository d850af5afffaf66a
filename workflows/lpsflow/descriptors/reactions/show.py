"""Reaction energies in ``lpsflow results`` and in the report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow.descriptors import spread
from lpsflow.descriptors.base import fmt, has_value, number
from lpsflow.descriptors.reactions.read import SHARED_PRODUCTS
from lpsflow.plots import COLORS, figure, label, ok, png
from lpsflow.report_render import Figure, Placeholder, Section, Table, Text

if TYPE_CHECKING:
    import pandas as pd

#: Columns of the main table of ``lpsflow results``.
VIEW = (
    "accelerant",
    "scheme",
    "core",
    "dE_core",
    "dE_Li7P3S11",
    "dE_Li4P2S6",
    "dE_core_minus_Li7P3S11",
    "solubility",
    "preferred",
    "dopant_CN",
    "screened",
    "converged",
    "state",
    "job_core",
)


def summary(df: pd.DataFrame) -> Section:
    """The reaction-energy table and the shared products' values."""
    cols = [c for c in VIEW if c in df]
    rows = [[_cell(c, r[c], r) for c in cols] for _, r in df.iterrows()]
    shared = [
        f"{p} {fmt(df[f'dE_{p}'].iloc[0], '+.4f')} eV/atom "
        f"(job {str(df[f'job_{p}'].iloc[0])[:8]})"
        for p in SHARED_PRODUCTS
        if has_value(df[f"dE_{p}"].iloc[0])
    ]
    return Section(
        "reactions",
        "Reaction energies dE_r (~dG_r) in eV/atom, from relaxed precursors "
        "(Li2S, P2S5, MxSy, S)",
        [
            Table(cols, rows),
            Text("Shared products (same for every row): " + ", ".join(shared)),
            Text(
                "preferred: the accelerant's scheme of lowest dE_core; dopant_CN: "
                "S neighbours of the dopant in that row's lowest relaxed cell "
                "(4: MS4 tetrahedron, 6: MS6 octahedron, as 27Al NMR tells apart); "
                "screened: arrangements given single points / distinct ones (the "
                "sample's size where they are sampled; best Ewald first, until the "
                "lowest relax_top held; '!' where the pool ran out first). "
                "+/- s (n): the gap to the next-lowest of n relaxed arrangements, "
                "how far the value could still move; (1): one arrangement."
            ),
        ],
    )


def _cell(column: str, value, row) -> str:
    if column == "screened" and has_value(value):
        return f"{value}!" if row.get("screen_stable") is False else str(value)
    if column.startswith("job_"):
        return str(value)[:8] if has_value(value) else "-"
    if f"{column}_spread" in row:
        return spread.show(row, column, "+.4f")
    if isinstance(value, float):
        return fmt(value, "+.4f")
    return str(value) if has_value(value) else "-"


def section(df: pd.DataFrame, points: pd.DataFrame | None = None) -> Section:
    """Bars of the reaction energies per accelerant."""
    cols = ["dE_core", "dE_Li7P3S11", "dE_Li4P2S6"]
    if not df[cols].notna().to_numpy().any():
        block: Figure | Placeholder = Placeholder(
            "Reaction energies", "the reaction-energy jobs have not finished"
        )
    else:
        block = Figure(
            "reaction_energies",
            reaction_energies(df),
            "Reaction energies per atom from the precursors: doped core "
            "Li(3-3x)M(x)PS4 vs Li7P3S11 vs Li4P2S6 + S (more negative = more "
            "strongly driven to form).",
        )
    return Section("reaction-energies", "Reaction energies per accelerant", [block])


def reaction_energies(df: pd.DataFrame) -> bytes:
    """Bars of dE_core, dE_Li7P3S11 and dE_Li4P2S6 (eV/atom) per accelerant/scheme.

    A '*' after a label marks numbers from an unconverged calculation; error
    bars are the spreads (the doped core's gap to its next arrangement).
    """
    bars = (
        ("dE_core", "doped core", COLORS[0]),
        ("dE_Li7P3S11", "Li7P3S11", COLORS[1]),
        ("dE_Li4P2S6", "Li4P2S6 + S", COLORS[2]),
    )
    multi = df["calculator"].nunique() > 1 if "calculator" in df else False
    fig = figure(max(5.0, 1.6 * len(df) + 2.5), 4.0)
    ax = fig.add_subplot()
    width = 0.8 / len(bars)
    for j, (col, name, color) in enumerate(bars):
        labelled = False
        for i, value in enumerate(df[col]):
            if not ok(value):
                ax.text(i + (j - 1) * width, 0, "n/a", ha="center", va="bottom")
                continue
            ax.bar(
                i + (j - 1) * width,
                value,
                width,
                color=color,
                label=None if labelled else name,
                yerr=number(df.iloc[i], f"{col}_spread"),
                capsize=3,
            )
            labelled = True
            ax.annotate(
                f"{value:+.3f}",
                (i + (j - 1) * width, value),
                ha="center",
                va="top" if value < 0 else "bottom",
                fontsize=7,
                xytext=(0, -2 if value < 0 else 2),
                textcoords="offset points",
            )
    ax.legend(fontsize=8, loc="lower right")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(df)), [label(r, multi) for _, r in df.iterrows()])
    ax.set_ylabel("reaction energy dE_r (eV/atom)")
    ax.set_title("Formation from the precursors (dG_r ~ dE_r)")
    ax.margins(y=0.15)
    return png(fig)
