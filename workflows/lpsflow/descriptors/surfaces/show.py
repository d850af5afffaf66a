"""Surface energies in ``lpsflow results`` and in the report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow.descriptors.base import fmt, has_value, number
from lpsflow.descriptors.surfaces.read import SurfaceJobs
from lpsflow.report_render import Placeholder, Section, Table, Text

if TYPE_CHECKING:
    import pandas as pd

TITLE = "Surface energies of Li7P3S11 film planes (J/m^2, relaxed; '-' = pending)"


def _planes(df: pd.DataFrame) -> list[str]:
    return [c.removeprefix(SurfaceJobs.PREFIX) for c in df if c in SurfaceJobs()]


def _hkl(label: str) -> str:
    return f"({label})"


def verdict(df: pd.DataFrame) -> str:
    """Which plane the film uses, and whether it is the lowest-energy one."""
    r = df.iloc[0]
    film = next((f for f in df.get("surface_film", []) if has_value(f)), None)
    low = r.get("surface_lowest")
    if not has_value(low):
        return "No relaxed surface energy yet."
    text = f"Lowest: {_hkl(low)}."
    if film is None:
        return text + " No interface computed: the film plane is not known here."
    if film == low:
        return text + f" The film uses {_hkl(film)}, the lowest-energy plane."
    if f"{SurfaceJobs.PREFIX}{film}" not in df:
        return text + f" The film uses {_hkl(film)}, not among the planes computed."
    g_film = number(r, SurfaceJobs.PREFIX + film)
    g_low = number(r, SurfaceJobs.PREFIX + low)
    if g_film is None or g_low is None:
        return text + f" The film uses {_hkl(film)}: its surface energy is pending."
    above = g_film - g_low
    return (
        f"{text} The film uses {_hkl(film)} (interfaces.film_miller, the study's "
        f"'(010)' read in this cell's setting), {fmt(above, '.3f')} J/m^2 above "
        f"{_hkl(low)}: a film on {_hkl(low)} is the other reading of the study's "
        "plane (docs/surfaces.md)."
    )


def _table(df: pd.DataFrame) -> Table:
    r = df.iloc[0]
    return Table(
        ["plane", "gamma (J/m^2)"],
        [[_hkl(p), fmt(r[SurfaceJobs.PREFIX + p], ".3f")] for p in _planes(df)],
    )


def summary(df: pd.DataFrame) -> Section | None:
    """Gamma per plane and the film's plane (nothing where none was computed)."""
    if not _planes(df):
        return None
    return Section("surfaces", TITLE, [_table(df), Text(verdict(df))])


def section(df: pd.DataFrame, points: pd.DataFrame | None = None) -> Section:
    """The report section: the table and the verdict."""
    if not _planes(df):
        why = "surfaces.enabled is off, or the surface jobs have not finished"
        return Section("surfaces", TITLE, [Placeholder(TITLE, why)])
    return Section("surfaces", TITLE, [_table(df), Text(verdict(df))])
