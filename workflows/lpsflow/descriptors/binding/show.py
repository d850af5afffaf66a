"""Binding energies in ``lpsflow results`` and in the report (E_bind versus n)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow.descriptors.base import figure_section, per_accelerant
from lpsflow.plots import COLORS, figure, png
from lpsflow.report_render import Section

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


def summary(df: pd.DataFrame) -> list[str]:
    """E_bind(n) per accelerant and of the homo series, and dE_bind."""
    if "E_bind_hetero_by_n" not in df or df["E_bind_hetero_by_n"].isna().all():
        return []
    out = [
        "",
        "Binding of n Li7P3S11(010) layers, E_bind = (E_int - E_film - E_sub)/A in "
        "meV/A^2 (< 0 binds; '-' = not converged); hetero on the core, homo on "
        "Li7P3S11:",
    ]
    starts = {
        v
        for col in ("binding_references_hetero", "binding_references_homo")
        if col in df
        for v in df[col].dropna()
    }
    if starts:
        out.append(
            "  references (film, substrate) relaxed alone, from "
            + " / ".join(REFERENCE_STARTS.get(v, v) for v in sorted(starts))
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
        out.append(
            f"  interfaces relaxed from the {n_starts} lowest distinct registries "
            "(rigid shifts) per n, the lowest used: (start k) where not the lowest "
            "single point's"
        )
    for acc, r in per_accelerant(df).iterrows():
        area, strain = r["area_hetero"], r["strain_hetero"]
        geom = (
            f" [{area:.0f} A^2, strain {100 * strain:.1f}%]"
            if area is not None and area == area
            else ""
        )
        hetero = _series(r["E_bind_hetero_by_n"], r.get("E_bind_hetero_start_by_n"))
        out.append(f"  {acc} hetero: {hetero}{geom}")
    r = df.iloc[0]
    homo = _series(r["E_bind_homo_by_n"], r.get("E_bind_homo_start_by_n"))
    out.append(f"  Li7P3S11 homo: {homo}")
    out.append(
        "  dE_bind = hetero - homo at the thickest converged n (< 0: Li7P3S11 "
        "prefers to nucleate on the core): "
        + ", ".join(
            f"{acc} " + ("-" if v is None or v != v else f"{1000 * v:+.2f}")
            for acc, v in df.groupby("accelerant")["dE_bind"].first().items()
        )
    )
    return out


def _series(by_n, starts=None) -> str:
    if not isinstance(by_n, dict):
        return "pending"
    starts = starts if isinstance(starts, dict) else {}
    return ", ".join(
        f"n={n}: "
        + ("-" if e is None else f"{1000 * e:+.2f}")
        + (f" (start {starts[n]})" if starts.get(n, 1) > 1 else "")
        for n, e in sorted(by_n.items(), key=lambda t: int(t[0]))
    )


def section(df: pd.DataFrame, points: pd.DataFrame | None = None) -> Section:
    """E_bind versus n, or a placeholder while there is none."""
    why = "interfaces.enabled is off, or the binding-energy jobs have not finished"
    return figure_section("binding", FIGURE, "binding", points, binding_vs_layers, why)


def binding_vs_layers(data: pd.DataFrame) -> bytes:
    """E_bind versus layers of Li7P3S11(010), hetero (on core) vs homo.

    Columns: accelerant, kind ('hetero' or 'homo'), n_layers, E_bind (eV/A^2).
    """
    fig = figure(6.5, 4.0)
    ax = fig.add_subplot()
    for i, ((acc, kind), g) in enumerate(data.groupby(["accelerant", "kind"])):
        g = g.sort_values("n_layers")
        ax.plot(
            g["n_layers"],
            g["E_bind"],
            "o-" if kind == "hetero" else "s--",
            color=COLORS[i % len(COLORS)],
            label=f"{acc} {kind}",
        )
    ax.set_xlabel("Li7P3S11(010) layers n")
    ax.set_ylabel("E_bind (eV/A^2)")
    ax.set_title("Binding of Li7P3S11: on the core (hetero) vs on itself (homo)")
    ax.legend(fontsize=8)
    return png(fig)
