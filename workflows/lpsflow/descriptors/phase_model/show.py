"""The phase-evolution model of the LPS series, fed by this campaign's solubility."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from lpsflow.descriptors.base import fmt
from lpsflow.plots import COLORS, figure, png
from lpsflow.report_render import Figure, Placeholder, Section, Table, Text

if TYPE_CHECKING:
    from lpsflow.analysis.phase_results import PhaseEvolution


def phase_source(df: pd.DataFrame) -> tuple[str, str, float | None, str]:
    """Accelerant (Al2S3, else the first), scheme, solubility x and its label."""
    accs = list(dict.fromkeys(df["accelerant"]))
    acc = "Al2S3" if "Al2S3" in accs else accs[0]
    rows = df[df["accelerant"] == acc]
    with_x = rows[rows["x_solubility"].notna()]
    pick = with_x if not with_x.empty else rows
    pick = pick.sort_values("preferred", ascending=False)
    r = pick.iloc[0]
    x = None if pd.isna(r["x_solubility"]) else float(r["x_solubility"])
    label = r["solubility"] if isinstance(r["solubility"], str) else "not computed"
    return acc, str(r["scheme"]), x, label


def section(df: pd.DataFrame, points: pd.DataFrame | None = None) -> Section:
    """Model weight fractions along the series, with the study's conductivities."""
    from lpsflow.analysis.lps_series import SERIES
    from lpsflow.analysis.phase_model import series

    acc, scheme, x, label = phase_source(df)
    title = "Phase model of the LPS series"
    if x is None:
        why = (
            f"the {acc} solubility is {label}: no x from this campaign to feed the "
            "model (add smaller x to doping.solubility_x)"
        )
        return Section("phase-model", title, [Placeholder("Phase-model table", why)])
    evos: list[PhaseEvolution] = series(acc, x, scheme=scheme)
    note = " (a lower bound: the largest x computed)" if label.startswith(">=") else ""
    sigma_of = {s.name: s.conductivity for s in SERIES}
    main = ("Li3PS4", "Li7P3S11", "Li4P2S6")
    rows = [
        [
            e.sample,
            fmt(sigma_of.get(e.sample), "g"),
            fmt(e.accelerant_moles, ".3f"),
            fmt(e.core_moles, ".2f"),
            fmt(100 * e.wt("core"), ".1f"),
            *(fmt(100 * e.wt(p), ".1f") for p in main),
            fmt(100 * e.wt(acc), ".1f"),
            fmt(100 * e.wt("core", "crystalline"), ".1f"),
            fmt(e.residual_ps, ".4f"),
            " -> ".join(e.sequence),
        ]
        for e in evos
    ]
    headers = [
        "sample",
        "measured sigma (mS/cm, study)",
        f"{acc} mol",
        "core mol",
        "core wt%",
        *(f"{p} wt%" for p in main),
        f"{acc} left wt%",
        "core wt% cryst.",
        "residual P/S",
        "sequence",
    ]
    measured_for = "" if acc == "Al2S3" else " (measured with Al2S3, not " + acc + ")"
    return Section(
        "phase-model",
        title,
        [
            Text(
                f"{acc} accelerant, core {evos[0].core} ({scheme}); solubility x = "
                f"{x:g} from this campaign{note}. Mass balance and the study's "
                "sequential rule (core first, residual Li2S + P2S5 split on the "
                "observed Li3PS4 -> Li7P3S11 -> Li4P2S6 tie line). The conductivity "
                "column is quoted from the study (room temperature, cold-pressed, "
                f"Al2S3 samples){measured_for}; it is not computed."
            ),
            Table(headers, rows, caption="wt% of the whole sample unless noted"),
            Figure(
                "phase_model",
                phase_series(evos),
                "Model weight fractions along the series (bars) and the study's "
                "measured conductivities (triangles, log scale).",
            ),
        ],
    )


def phase_series(evos: list[PhaseEvolution]) -> bytes:
    """Predicted weight fractions along the LPS series and measured sigma (log)."""
    names = [e.sample for e in evos]
    acc = evos[0].accelerant
    parts = (
        ("core", "doped core", COLORS[0]),
        ("Li3PS4", "Li3PS4", COLORS[4]),
        ("Li7P3S11", "Li7P3S11", COLORS[1]),
        ("Li4P2S6", "Li4P2S6", COLORS[2]),
        ("S", "S", "#bcbd22"),
        ("P2S5", "P2S5", "#17becf"),
        (acc, f"{acc} unreacted", "#7f7f7f"),
    )
    fig = figure(8.0, 4.2)
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
    return png(fig)
