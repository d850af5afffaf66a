"""Grain-boundary energies in ``lpsflow results`` and in the report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lpsflow.descriptors import spread
from lpsflow.descriptors.base import any_value, fmt, has_value, per_accelerant
from lpsflow.report_render import Placeholder, Section, Table

if TYPE_CHECKING:
    import pandas as pd

TITLE = "Grain-boundary energies gamma_GB"


def computed(df: pd.DataFrame) -> bool:
    """Some GB of the table was built."""
    return any(any_value(df, f"job_gb_{k}") for k in ("homo", "hetero"))


def summary(df: pd.DataFrame) -> Section | None:
    """gamma_GB per kind, per accelerant (nothing where no GB was built)."""
    return section(df) if computed(df) else None


def gb_text(r: Any, kind: str) -> str:
    """gamma_GB of one kind with its geometry, or why there is none."""
    if not has_value(r.get(f"job_gb_{kind}")):
        return "not computed"
    if not has_value(r[f"sigma_GB_{kind}"]):
        return "pending"
    return (
        f"{spread.show(r, f'gamma_GB_{kind}')} [Sigma {r[f'sigma_GB_{kind}']:.0f}, "
        f"{r[f'misorientation_GB_{kind}']:.1f} deg, "
        f"{100 * r[f'strain_GB_{kind}']:.1f}%, {r[f'atoms_GB_{kind}']:.0f}]"
    )


def _cells(r: Any, kind: str) -> list[str]:
    """gamma_GB text and excess volume of one boundary."""
    return [gb_text(r, kind), fmt(r.get(f"excess_volume_GB_{kind}"))]


def section(df: pd.DataFrame, points: pd.DataFrame | None = None) -> Section:
    """gamma_GB of every boundary, as a table."""
    title = (
        f"{TITLE} (J/m^2; '-' = not converged; (1): the lowest screened shift "
        "relaxed alone, spread unknown)"
    )
    if not computed(df):
        why = "grain_boundaries.enabled is off, or the GB jobs have not finished"
        return Section("grain-boundaries", title, [Placeholder(TITLE, why)])
    rows = [["Li7P3S11 homo", *_cells(df.iloc[0], "homo")]]
    for acc, r in per_accelerant(df).iterrows():
        rows += [
            [f"{acc} core/core", *_cells(r, "core")],
            [f"{acc} hetero core/Li7P3S11", *_cells(r, "hetero")],
        ]
    table = Table(
        [
            "boundary",
            "gamma_GB [Sigma, misorientation, misfit, atoms]",
            "excess volume (A)",
        ],
        rows,
    )
    return Section("grain-boundaries", title, [table])
