"""Grain-boundary energies in ``lpsflow results`` and in the report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lpsflow.descriptors.base import any_value, fmt, has_value, per_accelerant
from lpsflow.report_render import Placeholder, Section, Table

if TYPE_CHECKING:
    import pandas as pd

TITLE = "Grain-boundary energies gamma_GB"


def computed(df: pd.DataFrame) -> bool:
    """Some GB of the table was built."""
    return any(any_value(df, f"job_gb_{k}") for k in ("homo", "hetero"))


def summary(df: pd.DataFrame) -> list[str]:
    """gamma_GB per kind, per accelerant."""
    if not computed(df):
        return []
    out = [
        "",
        "Grain-boundary energies gamma_GB (J/m^2; '-' = not converged) "
        "[Sigma, misorientation, misfit strain, atoms]:",
        f"  Li7P3S11 homo: {gb_text(df.iloc[0], 'homo')}",
    ]
    for acc, r in per_accelerant(df).iterrows():
        out.append(
            f"  {acc} core/core: {gb_text(r, 'core')}; "
            f"hetero core/Li7P3S11: {gb_text(r, 'hetero')}"
        )
    return out


def gb_text(r: Any, kind: str) -> str:
    """gamma_GB of one kind with its geometry, or why there is none."""
    if not has_value(r.get(f"job_gb_{kind}")):
        return "not computed"
    if not has_value(r[f"sigma_GB_{kind}"]):
        return "pending"
    return (
        f"{fmt(r[f'gamma_GB_{kind}'])} [Sigma {r[f'sigma_GB_{kind}']:.0f}, "
        f"{r[f'misorientation_GB_{kind}']:.1f} deg, "
        f"{100 * r[f'strain_GB_{kind}']:.1f}%, {r[f'atoms_GB_{kind}']:.0f}]"
    )


def section(df: pd.DataFrame, points: pd.DataFrame | None = None) -> Section:
    """gamma_GB of every boundary, as a table."""
    if not computed(df):
        why = "grain_boundaries.enabled is off, or the GB jobs have not finished"
        return Section("grain-boundaries", TITLE, [Placeholder(TITLE, why)])
    rows = [["Li7P3S11", "homo", gb_text(df.iloc[0], "homo")]]
    for acc, r in per_accelerant(df).iterrows():
        rows += [[acc, kind, gb_text(r, kind)] for kind in ("core", "hetero")]
    table = Table(
        [
            "grains of",
            "kind",
            "gamma_GB (J/m^2) [Sigma, misorientation, strain, atoms]",
        ],
        rows,
        caption="Relaxed CSL boundaries: homo Li7P3S11/Li7P3S11, core/core and "
        "hetero core/Li7P3S11 ('-': not converged).",
    )
    return Section("grain-boundaries", TITLE, [table])
