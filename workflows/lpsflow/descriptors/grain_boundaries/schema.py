"""Result documents of the grain-boundary jobs (pydantic, described)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pymatgen.core import Structure

from lpsflow.jobs.identity import Spec


class GBShiftEnergy(BaseModel):
    """Single-point energy of one rigid in-plane shift of grain B."""

    shift: tuple[float, float] = Field(
        ..., description="Shift of grain B (fractions of grain A's primitive cell)."
    )
    energy: float = Field(
        ...,
        description="Screening single-point energy (eV) at the shift's lowest "
        "boundary separation.",
    )
    relative_energy: float = Field(
        ..., description="Energy above the lowest shift (meV per cell)."
    )
    contact_energy: float | None = Field(
        None, description="Single point at the contact separation (eV)."
    )
    offset: float = Field(
        0.0, description="Separation added at each boundary at its lowest (A)."
    )


class GBNormalEnergy(BaseModel):
    """Single-point energy of one boundary separation of the chosen shift."""

    offset: float = Field(
        ..., description="Separation added at each boundary (A; 0: contact)."
    )
    energy: float = Field(..., description="Screening single-point energy (eV).")
    relative_energy: float = Field(
        ..., description="Energy above the lowest separation (meV per cell)."
    )


class GBGeometry(Spec):
    """What a GB screen builds: the boundary planes and the construction settings."""

    miller_a: tuple[int, int, int] = Field(..., description="Grain A's plane (hkl).")
    miller_b: tuple[int, int, int] | None = Field(
        ..., description="Grain B's plane (hkl); None: grain A's (homo, core)."
    )
    settings: dict[str, Any] = Field(
        ...,
        description=":class:`~lpsflow.structures.grain_boundaries.GBSettings` as a "
        "dict (``dataclasses.asdict``); ``shift_grid`` is ``(n_a, n_b)``.",
    )


class GBScreenDoc(BaseModel):
    """The screened GB cells of one grain pair and the chosen (lowest) one."""

    kind: str = Field(..., description="GB kind: homo, core or hetero.")
    label: str = Field(..., description="Name of the GB in results.")
    formula_a: str = Field(..., description="Reduced formula of grain A.")
    formula_b: str = Field(..., description="Reduced formula of grain B.")
    miller_a: tuple[int, int, int] = Field(..., description="Grain A's plane (hkl).")
    miller_b: tuple[int, int, int] = Field(..., description="Grain B's plane (hkl).")
    match: str = Field(..., description="One-line description of the coincidence cell.")
    sigma: float = Field(
        ...,
        description="Coincidence area / grain A's primitive in-plane area "
        "(near-CSL index).",
    )
    twist_angle: float = Field(
        ..., description="Rotation of grain B about the normal (degrees)."
    )
    flipped: bool = Field(..., description="Grain B is turned over.")
    misorientation_axis: list[float] = Field(
        ..., description="Unit misorientation axis (cell Cartesian)."
    )
    misorientation_angle: float = Field(
        ..., description="Misorientation angle about that axis (degrees)."
    )
    von_mises_strain: float = Field(
        ..., description="Von Mises Green-Lagrange strain of grain B (residual misfit)."
    )
    area: float = Field(..., description="Boundary (in-plane cell) area (A^2).")
    n_atoms: int = Field(..., description="Atoms in the GB cell.")
    n_atoms_a: int = Field(..., description="Atoms of grain A in the cell.")
    n_atoms_b: int = Field(..., description="Atoms of grain B in the cell.")
    screening_model: str = Field(..., description="MLIP of the single points.")
    shifts: list[GBShiftEnergy] = Field(
        ..., description="Every screened shift, in shift-grid order."
    )
    selected: int = Field(..., description="Index of the lowest-energy shift.")
    normal_scan: list[GBNormalEnergy] = Field(
        default_factory=list,
        description="The rigid scan of the boundary separation at the lowest "
        "shift: every separation evaluated, in the order walked.",
    )
    normal_offset: float = Field(
        0.0,
        description="Separation added at each boundary in the chosen cell (A; "
        "negative: closer than the contact construction).",
    )
    gb: Structure = Field(
        ...,
        description="The chosen GB cell (site properties grain/layer, "
        "properties['gb'] with the boundary planes).",
    )
    bulk_a_job: str = Field(..., description="Job id of grain A's relaxed bulk.")
    bulk_b_job: str = Field(..., description="Job id of grain B's relaxed bulk.")
    e_a_per_atom: float = Field(
        ..., description="Relaxed grain A bulk energy per atom (eV/atom)."
    )
    e_b_per_atom: float = Field(
        ..., description="Relaxed grain B bulk energy per atom (eV/atom)."
    )
    settings: dict[str, Any] = Field(
        default_factory=dict, description="GB construction settings used."
    )


class GBEnergyDoc(BaseModel):
    """GB energy of one relaxed bicrystal (two boundaries per cell)."""

    kind: str = Field(..., description="GB kind: homo, core or hetero.")
    label: str = Field(..., description="Name of the GB in results.")
    gamma: float | None = Field(
        None, description="GB energy (J/m^2); None unless every relaxation converged."
    )
    gamma_ev_a2: float | None = Field(
        None, description="GB energy (eV/A^2); None unless converged."
    )
    converged: bool = Field(
        ..., description="GB and bulk relaxations all reached their tolerance."
    )
    e_gb: float = Field(..., description="Relaxed GB cell energy (eV).")
    e_a_per_atom: float = Field(..., description="Grain A reference (eV/atom).")
    e_b_per_atom: float = Field(..., description="Grain B reference (eV/atom).")
    n_atoms_a: int = Field(..., description="Atoms of grain A in the cell.")
    n_atoms_b: int = Field(..., description="Atoms of grain B in the cell.")
    area: float = Field(..., description="Boundary area A (A^2); gamma has 2A.")
    sigma: float = Field(..., description="Near-CSL index of the cell.")
    misorientation_angle: float = Field(..., description="Misorientation (deg).")
    von_mises_strain: float = Field(..., description="Strain of grain B.")
    excess_volume: float | None = Field(
        None,
        description="Excess volume per boundary area (V_GB - n_A v_A - n_B v_B) / "
        "(2 A) of the relaxed cell with the relaxed bulks' volumes per atom (A); "
        "None unless every relaxation converged.",
    )
    normal_length: float = Field(
        0.0, description="Relaxed cell length normal to the boundaries (A)."
    )
    normal_length_change: float = Field(
        0.0,
        description="Relaxed minus constructed length normal to the boundaries "
        "(A; 0 when the cell was held fixed).",
    )
    calculator: str = Field("", description="Calculator of the relaxed energies.")
    relaxed_cell: Structure = Field(
        ...,
        description="The relaxed GB cell, with the screened cell's grain/layer site "
        "properties and properties['gb'] (boundary planes) restored.",
    )
    start_cell: Structure | None = Field(
        None,
        description="The screened cell the relaxation started from (same atoms, "
        "same order): hop classes of the boundary are judged on it.",
    )
    jobs: dict[str, str] = Field(
        default_factory=dict, description="Job ids of the gb and bulk relaxations."
    )
    reason: str = Field("", description="Why gamma is None, if it is.")
