"""The bundled structure library and user overrides.

Every phase a campaign needs has a canonical name (its reduced formula, or ``S`` and
``Li`` for the elemental references). Starting structures ship as package data under
``structures/data`` with their provenance in ``data/SOURCES.md``; a campaign may
override
any of them with a CIF/POSCAR file of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from pymatgen.core import Composition, Structure

from lpsflow.errors import StructureError

#: Shortest interatomic distance (A) below which a structure is considered broken.
MIN_DISTANCE = 0.9


@dataclass(frozen=True)
class PhaseEntry:
    """A bundled starting structure."""

    name: str
    filename: str
    description: str


BUNDLED: dict[str, PhaseEntry] = {
    e.name: e
    for e in [
        PhaseEntry("Li2S", "Li2S_mp-1153.vasp", "antifluorite Li2S (precursor)"),
        PhaseEntry("P2S5", "P4S10_P-1.cif", "P4S10 molecular crystal (precursor)"),
        PhaseEntry("S", "S8_alpha_Fddd.cif", "alpha-S8 (sulfur reference)"),
        PhaseEntry("Li", "Li_bcc.vasp", "bcc Li (Li chemical-potential reference)"),
        PhaseEntry("Li3PS4", "Li3PS4_beta.cif", "beta-Li3PS4, Pnma (core host)"),
        PhaseEntry("Li7P3S11", "Li7P3S11.cif", "Li7P3S11, P-1"),
        PhaseEntry("Li4P2S6", "Li4P2S6_P-31m.cif", "Li4P2S6, P-31m (ordered model)"),
        PhaseEntry("Al2S3", "Al2S3_alpha_P61.cif", "alpha-Al2S3, P6_1"),
        PhaseEntry("Ga2S3", "Ga2S3_Cc.cif", "alpha'-Ga2S3, Cc"),
        PhaseEntry("SiS2", "SiS2_C42_Ibam.cif", "SiS2, Ibam"),
        PhaseEntry("In2S3", "In2S3_beta_I41amd.cif", "beta-In2S3, I4_1/amd"),
        PhaseEntry("Li6PS5Cl", "Li6PS5Cl.cif", "argyrodite Li6PS5Cl (ordered)"),
    ]
}


def canonical_name(formula: str) -> str:
    """Return the canonical phase name (reduced formula; ``S``/``Li`` for elements)."""
    try:
        comp = Composition(formula)
    except (ValueError, KeyError) as exc:
        raise StructureError(f"'{formula}' is not a chemical formula") from exc
    if len(comp.elements) == 1:
        return comp.elements[0].symbol
    for name in BUNDLED:  # e.g. Li4P2S6 (reduced: Li2PS3), P4S10 -> P2S5
        if Composition(name).reduced_composition == comp.reduced_composition:
            return name
    return comp.reduced_formula


def data_path(filename: str) -> Path:
    """Path of a bundled data file."""
    return Path(str(resources.files("lpsflow.structures") / "data" / filename))


def available_phases() -> list[str]:
    """Names of the phases that ship with the package."""
    return [n for n, e in BUNDLED.items() if data_path(e.filename).exists()]


def read_structure(path: str | Path, expect: str | None = None) -> Structure:
    """Read and check a CIF/POSCAR file.

    Parameters
    ----------
    path
        File to read (any format pymatgen recognises: CIF, POSCAR/CONTCAR, ...).
    expect
        Phase name the file must represent (its reduced composition is checked).

    """
    path = Path(path)
    if not path.is_file():
        raise StructureError(f"structure file not found: {path}")
    try:
        struct = Structure.from_file(path)
    except Exception as exc:  # pymatgen raises many exception types for bad files
        raise StructureError(f"cannot read structure file {path}: {exc}") from exc
    check_structure(struct, label=str(path), expect=expect)
    return struct


def check_structure(struct: Structure, label: str, expect: str | None = None) -> None:
    """Raise :class:`StructureError` if ``struct`` cannot be a sensible start."""
    if len(struct) == 0:
        raise StructureError(f"{label}: structure has no atoms")
    if not struct.is_ordered:
        raise StructureError(
            f"{label}: structure has partial occupancies; order it first "
            "(e.g. pymatgen OrderDisorderedStructureTransformation)"
        )
    if len(struct) > 1:
        dmat = struct.distance_matrix
        np.fill_diagonal(dmat, np.inf)
        dmin = float(dmat.min())
        if dmin < MIN_DISTANCE:
            raise StructureError(
                f"{label}: atoms {MIN_DISTANCE} A apart or closer "
                f"(shortest distance {dmin:.2f} A); the structure is broken"
            )
    if expect is not None and canonical_name(struct.formula) != canonical_name(expect):
        raise StructureError(
            f"{label}: composition {struct.composition.reduced_formula} does not match "
            f"the phase it is given for ({expect})"
        )


@cache
def _bundled(name: str) -> Structure:
    entry = BUNDLED[name]
    path = data_path(entry.filename)
    if not path.exists():
        raise StructureError(f"bundled structure for {name} is missing ({path})")
    return Structure.from_file(path)


def load_structure(
    name: str, overrides: dict[str, str | Path] | None = None
) -> Structure:
    """Starting structure of a phase: the user's file if given, else the bundled one."""
    key = canonical_name(name)
    for user_name, path in (overrides or {}).items():
        if canonical_name(user_name) == key:
            return read_structure(path, expect=key)
    if key not in BUNDLED:
        raise StructureError(
            f"no bundled structure for {key}; give one in the campaign file under "
            f"'structures: {{{key}: path/to/file.cif}}'"
        )
    return _bundled(key).copy()
