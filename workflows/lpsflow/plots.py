"""Figures of the report (matplotlib, Agg; each function returns PNG bytes).

Pure: every function draws only the numbers it is given. Inputs are the results
table of :func:`lpsflow.results.load` or, for the descriptors of issues 4 and 5,
long tables whose columns are documented per function, so they plot as soon as a
loader provides them.
"""

from __future__ import annotations

import io
import math
from fractions import Fraction

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 110
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _figure(width: float = 7.0, height: float = 4.0) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _ok(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _label(row: pd.Series, multi_calc: bool) -> str:
    text = f"{row['accelerant']}\n{row['scheme']}"
    if multi_calc:
        text += f"\n{row['calculator']}"
    return text + ("" if row.get("converged", True) else " *")


def reaction_energies(df: pd.DataFrame) -> bytes:
    """Bars of dE_core, dE_Li7P3S11 and dE_Li4P2S6 (eV/atom) per accelerant/scheme.

    A '*' after a label marks numbers from an unconverged calculation.
    """
    bars = (
        ("dE_core", "doped core", _COLORS[0]),
        ("dE_Li7P3S11", "Li7P3S11", _COLORS[1]),
        ("dE_Li4P2S6", "Li4P2S6 + S", _COLORS[2]),
    )
    multi = df["calculator"].nunique() > 1 if "calculator" in df else False
    fig = _figure(max(5.0, 1.6 * len(df) + 2.5), 4.0)
    ax = fig.add_subplot()
    width = 0.8 / len(bars)
    for j, (col, name, color) in enumerate(bars):
        labelled = False
        for i, value in enumerate(df[col]):
            if not _ok(value):
                ax.text(i + (j - 1) * width, 0, "n/a", ha="center", va="bottom")
                continue
            ax.bar(
                i + (j - 1) * width,
                value,
                width,
                color=color,
                label=None if labelled else name,
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
    ax.set_xticks(range(len(df)), [_label(r, multi) for _, r in df.iterrows()])
    ax.set_ylabel("reaction energy dE_r (eV/atom)")
    ax.set_title("Formation from the precursors (dG_r ~ dE_r)")
    ax.margins(y=0.15)
    return _png(fig)


def hull_vs_x(df: pd.DataFrame) -> bytes:
    """Energy above the hull of the undoped phases versus x, threshold and limit."""
    fig = _figure(7.0, 4.2)
    ax = fig.add_subplot()
    rows = df[df["e_hull_meV_by_x"].map(lambda v: isinstance(v, dict) and bool(v))]
    multi = rows["calculator"].nunique() > 1 if "calculator" in rows else False
    for i, (_, row) in enumerate(rows.iterrows()):
        color = _COLORS[i % len(_COLORS)]
        pts = sorted((float(Fraction(k)), v) for k, v in row["e_hull_meV_by_x"].items())
        xs, es = zip(*pts, strict=True)
        name = f"{row['accelerant']} {row['scheme']}" + (
            f" ({row['calculator']})" if multi else ""
        )
        ax.plot(xs, es, "o-", color=color, label=f"{name}: x_sol {row['solubility']}")
        if _ok(row["x_solubility"]):
            ax.axvline(row["x_solubility"], color=color, ls=":", lw=1.2)
    thresholds = sorted(set(rows["hull_threshold_meV"].dropna()))
    for t in thresholds:
        ax.axhline(t, color="grey", ls="--", lw=1, label=f"threshold {t:g} meV/atom")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel("x in the doped core (M per PS4)")
    ax.set_ylabel("E above hull of undoped phases (meV/atom)")
    ax.set_title("Solubility: dotted line = limit (largest x below the threshold)")
    ax.legend(fontsize=8)
    return _png(fig)


def phase_series(rows: list) -> bytes:
    """Predicted weight fractions along the LPS series and measured sigma (log)."""
    from lpsflow.analysis.phase_model import PhaseEvolution

    evos: list[PhaseEvolution] = rows
    names = [e.sample for e in evos]
    acc = evos[0].accelerant
    parts = (
        ("core", "doped core", _COLORS[0]),
        ("Li3PS4", "Li3PS4", _COLORS[4]),
        ("Li7P3S11", "Li7P3S11", _COLORS[1]),
        ("Li4P2S6", "Li4P2S6", _COLORS[2]),
        ("S", "S", "#bcbd22"),
        ("P2S5", "P2S5", "#17becf"),
        (acc, f"{acc} unreacted", "#7f7f7f"),
    )
    fig = _figure(8.0, 4.2)
    ax = fig.add_subplot()
    bottom = [0.0] * len(evos)
    for key, name, color in parts:
        wts = [100 * e.wt(key) for e in evos]
        ax.bar(names, wts, bottom=bottom, color=color, label=name, width=0.6)
        bottom = [b + w for b, w in zip(bottom, wts, strict=True)]
    ax.set_ylabel("wt% of the sample (model)")
    ax.tick_params(axis="x", rotation=30)
    sig = [(n, e.measured_conductivity) for n, e in zip(names, evos, strict=True)]
    sig = [(n, s) for n, s in sig if s is not None]
    if sig:
        ax2 = ax.twinx()
        ax2.plot(*zip(*sig, strict=True), "k^--", label="measured sigma (study)")
        ax2.set_yscale("log")
        ax2.set_ylabel("measured sigma, Al2S3 samples (mS/cm)")
        ax2.legend(fontsize=8, loc="upper right")
    ax.legend(fontsize=8, loc="upper left", ncols=2)
    ax.set_ylim(0, 130)
    ax.set_title(f"Phase model with {acc} at x = {evos[0].solubility:g}")
    return _png(fig)


def binding_vs_layers(data: pd.DataFrame) -> bytes:
    """E_bind versus layers of Li7P3S11(010), hetero (on core) vs homo.

    Columns: accelerant, kind ('hetero' or 'homo'), n_layers, E_bind (eV/A^2).
    """
    fig = _figure(6.5, 4.0)
    ax = fig.add_subplot()
    for i, ((acc, kind), g) in enumerate(data.groupby(["accelerant", "kind"])):
        g = g.sort_values("n_layers")
        ax.plot(
            g["n_layers"],
            g["E_bind"],
            "o-" if kind == "hetero" else "s--",
            color=_COLORS[i % len(_COLORS)],
            label=f"{acc} {kind}",
        )
    ax.set_xlabel("Li7P3S11(010) layers n")
    ax.set_ylabel("E_bind (eV/A^2)")
    ax.set_title("Binding of Li7P3S11: on the core (hetero) vs on itself (homo)")
    ax.legend(fontsize=8)
    return _png(fig)


def mu_li_per_phase(data: pd.DataFrame) -> bytes:
    """mu_Li per phase. Columns: accelerant, phase, mu_Li (eV)."""
    fig = _figure(6.5, 4.0)
    ax = fig.add_subplot()
    labels = [f"{r.accelerant}\n{r.phase}" for r in data.itertuples()]
    ax.bar(labels, data["mu_Li"], color=_COLORS[0])
    ax.set_ylabel("mu_Li = -min E_v (eV)")
    ax.set_title("Li chemical potential per phase")
    return _png(fig)


def neb_profiles(data: pd.DataFrame) -> bytes:
    """NEB energy profiles along the GB and across the grain.

    Columns: accelerant, path ('gb' or 'bulk'), coordinate (0..1 along the path),
    energy (eV, relative to the initial image).
    """
    fig = _figure(6.5, 4.0)
    ax = fig.add_subplot()
    for i, ((acc, path), g) in enumerate(data.groupby(["accelerant", "path"])):
        g = g.sort_values("coordinate")
        ax.plot(
            g["coordinate"],
            g["energy"],
            "o-" if path == "gb" else "s--",
            color=_COLORS[i % len(_COLORS)],
            label=f"{acc}: {'along GB' if path == 'gb' else 'across grain'}",
        )
    ax.set_xlabel("reaction coordinate")
    ax.set_ylabel("energy (eV)")
    ax.set_title("Li vacancy migration (climbing-image NEB)")
    ax.legend(fontsize=8)
    return _png(fig)
