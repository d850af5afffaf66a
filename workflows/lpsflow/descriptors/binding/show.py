"""Binding energies in ``lpsflow results`` and in the report (E_bind versus n)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow.descriptors import spread
from lpsflow.descriptors.base import figure_section, fmt, has_value, per_accelerant
from lpsflow.plots import curves
from lpsflow.report_render import Section, Table, Text

if TYPE_CHECKING:
    import pandas as pd

#: Where E_bind's film and substrate references started (``interfaces.references``).
REFERENCE_STARTS = {
    "relaxed_interface": "their parts of each relaxed interface",
    "screened_cell": "the unrelaxed interface cell",
    "lowest": "both their parts of each relaxed interface and the unrelaxed cell, "
    "the lowest energy of each used (the substrate's over all n)",
}

FIGURE = "E_bind versus number of Li7P3S11(010) layers, hetero vs homo"


def summary(df: pd.DataFrame) -> Section | None:
    """E_bind(n) per accelerant and of the homo series, and dE_bind."""
    if "E_bind_hetero_by_n" not in df or df["E_bind_hetero_by_n"].isna().all():
        return None
    blocks: list = []
    starts = {
        v
        for col in ("binding_references_hetero", "binding_references_homo")
        if col in df
        for v in df[col].dropna()
    }
    if starts:
        blocks.append(
            Text(
                "References (film, substrate) relaxed alone, from "
                + " / ".join(REFERENCE_STARTS.get(v, v) for v in sorted(starts))
                + "."
            )
        )
    n_starts = max(
        (
            int(v)
            for col in ("binding_starts_hetero", "binding_starts_homo")
            if col in df
            for v in df[col].dropna()
        ),
        default=1,
    )
    if n_starts > 1:
        blocks.append(
            Text(
                f"Interfaces relaxed from the {n_starts} lowest distinct registries "
                "(rigid shifts) per n, the lowest used: (start k) where not the "
                "lowest single point's."
            )
        )
    r0 = df.iloc[0]
    series = [
        (
            f"{acc} hetero",
            r["E_bind_hetero_by_n"],
            r.get("E_bind_hetero_start_by_n"),
            r["area_hetero"],
            r["strain_hetero"],
        )
        for acc, r in per_accelerant(df).iterrows()
    ]
    series.append(
        (
            "Li7P3S11 homo",
            r0["E_bind_homo_by_n"],
            r0.get("E_bind_homo_start_by_n"),
            r0["area_homo"],
            r0["strain_homo"],
        )
    )
    ns = sorted({int(n) for s in series if isinstance(s[1], dict) for n in s[1]})
    rows = [
        [
            name,
            *_by_n(by_n, start_by_n, ns),
            fmt(area, ".0f"),
            fmt(100 * strain if has_value(strain) else None, ".1f"),
        ]
        for name, by_n, start_by_n, area, strain in series
    ]
    blocks.append(
        Table(["series", *(f"n={n}" for n in ns), "area (A^2)", "strain (%)"], rows)
    )
    blocks.append(
        Text(
            "dE_bind = hetero - homo at the thickest converged n (< 0: Li7P3S11 "
            "prefers to nucleate on the core), meV/A^2, +/- the sum of both "
            "E_bind's gaps to their next relaxed registry (n registries; (1): one "
            "per n, spread unknown): "
            + ", ".join(
                f"{acc} " + spread.show(r, "dE_bind", "+.2f", 1000)
                for acc, r in per_accelerant(df).iterrows()
            )
        )
    )
    free = _free_film(df)
    if free:
        blocks.append(free)
    return Section(
        "binding",
        "Binding of n Li7P3S11(010) layers, E_bind = (E_int - E_film - E_sub)/A in "
        "meV/A^2 (< 0 binds; '-' = not converged); hetero on the core, homo on "
        "Li7P3S11",
        blocks,
    )


def _free_film(df: pd.DataFrame) -> Text | None:
    """The hetero film's strain energy and E_bind against the free film."""
    if (
        "E_bind_hetero_free_by_n" not in df
        or df["E_bind_hetero_free_by_n"].isna().all()
    ):
        return None
    parts = []
    for acc, r in per_accelerant(df).iterrows():
        strain, free = r.get("film_strain_energy_by_n"), r["E_bind_hetero_free_by_n"]
        if not isinstance(free, dict):
            continue
        ns = sorted(int(n) for n in free)
        parts.append(
            f"{acc} "
            + ", ".join(
                f"n={n} {1000 * free[n]:+.2f} (strain {1000 * strain[n]:+.2f})"
                for n in ns
            )
            + "; dE_bind "
            + fmt(_milli(r["dE_bind_free"]), "+.2f")
        )
    return Text(
        "Against the free film (the homo series' film of the same n, unstrained, in "
        "its own cell), E_bind hetero and the film's strain energy (E_film strained "
        "- k E_film free)/A, meV/A^2: " + "; ".join(parts) + ". The verdict uses "
        "E_bind with the film strained into the interface cell (the study's "
        "definition, the work of adhesion); a negative strain energy means the "
        "strained film found a lower state than the free film in its smaller cell: "
        "not resolved at this size."
    )


def _milli(value) -> float | None:
    return 1000 * value if has_value(value) else None


def _by_n(by_n, starts, ns: list[int]) -> list[str]:
    """E_bind at each n (meV/A^2), '(start k)' where not the first start."""
    if not isinstance(by_n, dict):
        return ["pending"] * len(ns)
    by_n = {int(n): e for n, e in by_n.items()}
    starts = {int(n): k for n, k in starts.items()} if isinstance(starts, dict) else {}
    return [
        ("-" if by_n.get(n) is None else f"{1000 * by_n[n]:+.2f}")
        + (f" (start {starts[n]})" if starts.get(n, 1) > 1 else "")
        for n in ns
    ]


def section(df: pd.DataFrame, points: pd.DataFrame | None = None) -> Section:
    """E_bind versus n, or a placeholder while there is none."""
    why = "interfaces.enabled is off, or the binding-energy jobs have not finished"
    return figure_section("binding", FIGURE, "binding", points, binding_vs_layers, why)


def binding_vs_layers(data: pd.DataFrame) -> bytes:
    """E_bind versus layers of Li7P3S11(010), hetero (on core) vs homo.

    Columns: accelerant, kind ('hetero' or 'homo'), n_layers, E_bind (eV/A^2).
    """
    return curves(
        data,
        "n_layers",
        "E_bind",
        "kind",
        "hetero",
        lambda acc, kind: f"{acc} {kind}",
        (
            "Li7P3S11(010) layers n",
            "E_bind (eV/A^2)",
            "Binding of Li7P3S11: on the core (hetero) vs on itself (homo)",
        ),
    )
