"""Figure helpers shared by the descriptors' plots (matplotlib, Agg, PNG bytes).

Pure: every figure draws only the numbers it is given; each descriptor's own plot
lives in its folder (``lpsflow/descriptors/<name>/show.py``).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 110
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def figure(width: float = 7.0, height: float = 4.0) -> Figure:
    """An empty figure with a canvas (no pyplot state)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def ok(value: object) -> bool:
    """A value to draw (not None, not NaN)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def label(row: pd.Series, multi_calc: bool) -> str:
    """Tick label of a results row; '*' marks unconverged numbers."""
    text = f"{row['accelerant']}\n{row['scheme']}"
    if multi_calc:
        text += f"\n{row['calculator']}"
    return text + ("" if row.get("converged", True) else " *")


def curves(
    data: pd.DataFrame,
    x: str,
    y: str,
    kind: str,
    solid: str,
    name: Callable[[str, str], str],
    labels: tuple[str, str, str],
) -> bytes:
    """One line per (accelerant, ``kind``) of a long table, sorted along ``x``.

    ``solid``: the value of ``kind`` drawn solid with circles (others dashed with
    squares); ``name(accelerant, kind)``: the legend entry; ``labels``: x label,
    y label, title. A column ``<y>_spread`` is drawn as error bars (none where
    unknown).
    """
    fig = figure(6.5, 4.0)
    ax = fig.add_subplot()
    err = f"{y}_spread"
    for i, ((acc, k), g) in enumerate(data.groupby(["accelerant", kind])):
        g = g.sort_values(x)
        ax.errorbar(
            g[x],
            g[y],
            yerr=g[err].astype(float) if err in g else None,
            fmt="o-" if k == solid else "s--",
            color=COLORS[i % len(COLORS)],
            label=name(acc, k),
            capsize=3,
        )
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(labels[2])
    ax.legend(fontsize=8)
    return png(fig)
