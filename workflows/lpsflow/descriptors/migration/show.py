"""Migration barriers in ``lpsflow results`` and in the report (NEB profiles)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow.descriptors import spread
from lpsflow.descriptors.base import (
    FAIL,
    PASS,
    UNDECIDED,
    any_value,
    figure_section,
    fmt,
    has_value,
    per_accelerant,
)
from lpsflow.descriptors.migration.read import (
    compares_paths,
    faster_along_gb,
    faster_along_li7p3s11_gb,
)
from lpsflow.plots import curves
from lpsflow.report_render import Section, Table, Text

if TYPE_CHECKING:
    import pandas as pd

FIGURE = "NEB energy profiles along the GB vs across the grain"


def summary(df: pd.DataFrame) -> Section | None:
    """Ea along the GB and across the grain per accelerant, and Li7P3S11's."""
    if not (any_value(df, "job_Ea_gb") or any_value(df, "job_Ea_bulk")):
        return None
    r0 = df.iloc[0]
    rows = [
        _row(
            "Li7P3S11 (homo GB / bulk)", r0, "_Li7P3S11",
            faster_along_li7p3s11_gb(r0, None),
        )
    ]  # fmt: skip
    for acc, r in per_accelerant(df).iterrows():
        rows.append(
            _row(f"{acc} (hetero GB / core bulk)", r, "", faster_along_gb(r, None))
        )
    head = ["grains", "path along the GB", "path across the grain", "lowest hop", ""]
    blocks: list = [Table(head, rows)]
    perc = _percolation(df)
    if perc:
        blocks.append(perc)
    return Section(
        "migration",
        "Li vacancy migration barriers (eV, climbing-image NEB): the percolation "
        "barrier of a path spanning the cell (in-plane through the GB region, any "
        "axis in the grain; '-': the computed hops do not span), and the lowest "
        "single hop Ea = E_max - min(E_initial, E_final) in the GB region (it may "
        "cross the plane) / in the grain ('-' = not converged, reason in "
        "neb_reason_*); the verdict compares the paths where both span, else the "
        "single hops. +/- s (n): n hop classes computed; s = the path barrier "
        "minus the lowest hop while classes of the region are left (how far a "
        "route through them could lower it), 0 once all are computed",
        blocks,
    )


def _row(name: str, row: pd.Series, suffix: str, verdict: tuple) -> list[str]:
    """One table row: both paths, both lowest hops, the criterion's outcome."""
    return [
        name,
        spread.show(row, f"Ea_perc_gb{suffix}"),
        spread.show(row, f"Ea_perc_bulk{suffix}"),
        f"{fmt(row.get(f'Ea_gb{suffix}'))} / {fmt(row.get(f'Ea_bulk{suffix}'))}",
        _verdict(verdict, compares_paths(row, suffix)),
    ]


def _verdict(verdict: tuple, paths: bool) -> str:
    """The migration criterion's outcome and what it compared (``paths``)."""
    status = verdict[2]
    on = "percolation" if paths else "single hops"
    if status == UNDECIDED:
        return f"undecided: inside the spread ({on})"
    if status not in (PASS, FAIL):
        return ""
    return ("faster" if status == PASS else "not faster") + f" along the GB ({on})"


def _percolation(df: pd.DataFrame) -> Text | None:
    """The percolation barriers of the computed hop classes, where there are any."""
    cols = [f"hop_classes_{p}{x}" for p in ("gb", "bulk") for x in ("", "_Li7P3S11")]
    if not any(c in df and any_value(df, c) for c in cols):
        return None
    r0 = df.iloc[0]
    parts = [
        "Li7P3S11 "
        + _perc(r0, "gb", "_Li7P3S11")
        + " / "
        + _perc(r0, "bulk", "_Li7P3S11")
    ]
    parts += [
        f"{acc} " + _perc(r, "gb", "") + " / " + _perc(r, "bulk", "")
        for acc, r in per_accelerant(df).iterrows()
    ]
    return Text(
        "Percolation barrier (eV) along the GB / across the grain: the saddle "
        "energy at which hops of the computed classes first join into a path "
        "spanning the cell, minus the lowest vacancy site of that cluster ('-': "
        "they do not span), [classes computed/in the region]: "
        + "; ".join(parts)
        + ". The migration verdicts compare these where both paths of a pair "
        "span, else the lowest single-hop barriers (neb.n_hops: spanning computes "
        "classes that span)."
    )


def _perc(row, path: str, suffix: str) -> str:
    classes = row.get(f"hop_classes_{path}{suffix}")
    value = fmt(row.get(f"Ea_perc_{path}{suffix}"))
    return f"{value} [{classes}]" if has_value(classes) else "-"


def section(df: pd.DataFrame, points: pd.DataFrame | None = None) -> Section:
    """Path barriers with their spreads, and the converged bands' profiles."""
    from lpsflow.report_render import Figure

    why = (
        "neb.enabled is off, or no band has converged yet (see neb_reason_* in "
        "lpsflow results)"
    )
    out = figure_section("neb", FIGURE, "neb", points, neb_profiles, why)
    bars = _path_bars(df)
    if bars is not None:
        out.blocks.insert(
            0,
            Figure(
                "neb_paths",
                bars,
                "Path barriers (percolation) along the GB and across the grain, "
                "error bars their spread (how far hop classes not computed could "
                "lower them; none where a path does not span).",
            ),
        )
    return out


def _path_bars(df: pd.DataFrame) -> bytes | None:
    """Bars of the GB and grain path barriers per host, with spread error bars."""
    from lpsflow.descriptors.base import number
    from lpsflow.plots import COLORS, figure, png

    hosts = [("Li7P3S11", df.iloc[0], "_Li7P3S11")] + [
        (acc, r, "") for acc, r in per_accelerant(df).iterrows()
    ]
    if not any(
        number(r, f"Ea_perc_{p}{x}") is not None
        for _, r, x in hosts
        for p in ("gb", "bulk")
    ):
        return None
    fig = figure(max(5.0, 1.4 * len(hosts) + 2.0), 3.8)
    ax = fig.add_subplot()
    for j, (path, name) in enumerate((("gb", "along GB"), ("bulk", "across grain"))):
        xs = [i + (j - 0.5) * 0.38 for i in range(len(hosts))]
        values = [number(r, f"Ea_perc_{path}{x}") for _, r, x in hosts]
        errs = [number(r, f"Ea_perc_{path}{x}_spread") for _, r, x in hosts]
        have = [k for k, v in enumerate(values) if v is not None]
        ax.bar(
            [xs[k] for k in have],
            [values[k] for k in have],
            0.38,
            yerr=[errs[k] if errs[k] is not None else 0.0 for k in have],
            capsize=3,
            color=COLORS[j],
            label=name,
        )
        for k, v in enumerate(values):
            if v is None:
                ax.text(xs[k], 0, "no path", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(hosts)), [h for h, _, _ in hosts])
    ax.set_ylabel("path barrier (eV)")
    ax.set_title("Li vacancy percolation barriers")
    ax.legend(fontsize=8)
    return png(fig)


def neb_profiles(data: pd.DataFrame) -> bytes:
    """NEB energy profiles along the GB and across the grain.

    Columns: accelerant, path ('gb' or 'bulk'), coordinate (0..1 along the path),
    energy (eV, relative to the initial image).
    """
    return curves(
        data,
        "coordinate",
        "energy",
        "path",
        "gb",
        lambda acc, path: f"{acc}: {'along GB' if path == 'gb' else 'across grain'}",
        (
            "reaction coordinate",
            "energy (eV)",
            "Li vacancy migration (climbing-image NEB)",
        ),
    )
