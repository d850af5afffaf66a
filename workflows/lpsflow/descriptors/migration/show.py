"""Migration barriers in ``lpsflow results`` and in the report (NEB profiles)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow.descriptors.base import (
    any_value,
    figure_section,
    fmt,
    has_value,
    per_accelerant,
)
from lpsflow.plots import curves
from lpsflow.report_render import Section, Table

if TYPE_CHECKING:
    import pandas as pd

FIGURE = "NEB energy profiles along the GB vs across the grain"


def summary(df: pd.DataFrame) -> Section | None:
    """Ea along the GB and across the grain per accelerant, and Li7P3S11's."""
    if not (any_value(df, "job_Ea_gb") or any_value(df, "job_Ea_bulk")):
        return None
    r0 = df.iloc[0]
    rows = [
        [
            "Li7P3S11 (homo GB / bulk)",
            fmt(r0["Ea_gb_Li7P3S11"]),
            fmt(r0["Ea_bulk_Li7P3S11"]),
            "",
        ]
    ]
    for acc, r in per_accelerant(df).iterrows():
        gb, bulk = r["Ea_gb"], r["Ea_bulk"]
        verdict = (
            ""
            if not (has_value(gb) and has_value(bulk))
            else "faster along the GB"
            if gb < bulk
            else "not faster along the GB"
        )
        rows.append([f"{acc} (hetero GB / core bulk)", fmt(gb), fmt(bulk), verdict])
    return Section(
        "migration",
        "Li vacancy migration barriers Ea = E_max - min(E_initial, E_final) (eV, "
        "climbing-image NEB; '-' = not converged, reason in neb_reason_*)",
        [Table(["grains", "along the GB", "across the grain", ""], rows)],
    )


def section(df: pd.DataFrame, points: pd.DataFrame | None = None) -> Section:
    """The converged bands' profiles, or a placeholder while there are none."""
    why = (
        "neb.enabled is off, or no band has converged yet (see neb_reason_* in "
        "lpsflow results)"
    )
    return figure_section("neb", FIGURE, "neb", points, neb_profiles, why)


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
