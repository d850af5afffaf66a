"""Result documents of the interface and binding-energy jobs (pydantic, described)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pymatgen.core import Structure

from lpsflow.jobs.identity import Spec


class InterfaceGeometry(Spec):
    """What an interface series builds: the planes, the series settings, vacuum."""

    film_miller: tuple[int, int, int] = Field(..., description="Film plane.")
    substrate_miller: tuple[int, int, int] = Field(..., description="Substrate plane.")
    series: dict[str, Any] = Field(
        ...,
        description="The series' settings "
        "(:class:`~lpsflow.campaign_branches.InterfaceSeriesSettings` as a dict): "
        "substrate and fixed layers, shift grid, lattice-match tolerances.",
    )
    vacuum: float = Field(..., description="Vacuum above the film (A).")


class ShiftEnergy(BaseModel):
    """Single point of one in-plane rigid shift of the film."""

    shift: tuple[float, float] = Field(
        ..., description="Shift in fractions of the substrate slab's in-plane cell."
    )
    registry: bool = Field(
        False, description="The shift that continues the bulk stacking (homo)."
    )
    energy: float = Field(..., description="Single-point energy (eV).")
    relative_energy: float = Field(
        ..., description="Energy above the lowest shift (meV per interface cell)."
    )


class Termination(BaseModel):
    """The slab termination chosen for film or substrate."""

    formula: str = Field(..., description="Reduced formula of the bulk.")
    miller: tuple[int, int, int] = Field(..., description="Surface (hkl).")
    shift: float = Field(..., description="SlabGenerator shift of the termination.")
    symmetric: bool = Field(..., description="Top and bottom faces are equivalent.")
    n_candidates: int = Field(
        ..., description="Stoichiometric terminations keeping PS4/P2S7 units whole."
    )
    surface_energy: float | None = Field(
        None,
        description="Unrelaxed single-point surface energy (J/m^2) that ranked it.",
    )


class InterfaceScreenDoc(BaseModel):
    """One interface cell (n film layers) after screening the rigid shifts."""

    kind: str = Field(..., description="'hetero' (on the core) or 'homo'.")
    label: str = Field(..., description="Substrate label, e.g. 'Al2S3' or 'Li7P3S11'.")
    n_layers: int = Field(..., description="Li7P3S11 film layers.")
    film: Termination = Field(..., description="Film termination.")
    substrate: Termination = Field(..., description="Substrate termination.")
    substrate_job: str | None = Field(
        None, description="Job id of the relaxed substrate bulk used."
    )
    area: float = Field(..., description="Interface area A (A^2).")
    von_mises_strain: float = Field(
        ..., description="Residual von Mises strain of the film (fraction)."
    )
    film_vectors: list[list[int]] = Field(
        ..., description="Film in-plane supercell vectors of the match."
    )
    substrate_vectors: list[list[int]] = Field(
        ..., description="Substrate in-plane supercell vectors of the match."
    )
    n_atoms: int = Field(..., description="Atoms in the interface cell.")
    n_fixed: int = Field(..., description="Substrate atoms held fixed.")
    screening_model: str = Field(..., description="MLIP of the single points.")
    shifts: list[ShiftEnergy] = Field(..., description="Screened shifts.")
    selected: int = Field(..., description="Index of the lowest shift.")
    interface: Structure = Field(..., description="Lowest-energy interface cell.")
    film_reference: Structure = Field(
        ..., description="The film cut from it: same strained cell, for E_film."
    )
    substrate_reference: Structure = Field(
        ..., description="The substrate cut from it (same cell and fixed atoms)."
    )


class InterfaceStartsDoc(BaseModel):
    """Further starting cells of one interface (``interfaces.relax_top`` > 1)."""

    kind: str = Field(..., description="'hetero' (on the core) or 'homo'.")
    label: str = Field(..., description="Substrate label, e.g. 'Al2S3' or 'Li7P3S11'.")
    n_layers: int = Field(..., description="Li7P3S11 film layers.")
    selected: list[int] = Field(
        ..., description="Indices of the cells among the screen's shifts."
    )
    relative_energies: list[float] = Field(
        ..., description="Their single points above the lowest (meV per cell)."
    )
    cells: list[Structure] = Field(
        ..., description="The cells: the next distinct registries, lowest first."
    )


class InterfacePartsDoc(BaseModel):
    """Film and substrate cut from a relaxed interface: the starts of its references."""

    kind: str = Field(..., description="'hetero' (on the core) or 'homo'.")
    label: str = Field(..., description="Substrate label, e.g. 'Al2S3' or 'Li7P3S11'.")
    n_layers: int = Field(..., description="Li7P3S11 film layers.")
    interface_job: str = Field(..., description="Job id of the relaxed interface.")
    film: Structure = Field(
        ..., description="The film part of the relaxed interface (same cell)."
    )
    substrate: Structure = Field(
        ...,
        description="The substrate part of the relaxed interface (same cell and "
        "fixed atoms).",
    )


class BindingPoint(BaseModel):
    """E_bind for one film thickness."""

    n_layers: int = Field(..., description="Li7P3S11 film layers.")
    e_bind: float | None = Field(
        None,
        description="(E_interface - E_film - E_substrate) / A in eV/A^2 (< 0 binds); "
        "None if a relaxation behind it did not converge.",
    )
    e_bind_j_m2: float | None = Field(None, description="The same in J/m^2.")
    converged: bool = Field(..., description="All three relaxations converged.")
    e_interface: float = Field(..., description="Relaxed interface energy (eV).")
    e_film: float = Field(..., description="Relaxed strained film energy (eV).")
    e_substrate: float = Field(..., description="Relaxed substrate energy (eV).")
    n_atoms: int = Field(..., description="Atoms in the interface cell.")
    jobs: dict[str, str] = Field(
        ...,
        description="Job ids of the interface, film and substrate relaxations "
        "used (with 'lowest': film_other / substrate_other, this n's other start "
        "not used; the substrate used may be another n's, the lowest of all; "
        "interface_other: a start not used, with relax_top > 1).",
    )
    references: str = Field(
        "screened_cell",
        description="interfaces.references: 'relaxed_interface' (references "
        "relaxed from the relaxed interface's parts), 'screened_cell' (cut from "
        "the unrelaxed cell) or 'lowest' (both, the lower energy used).",
    )
    film_from: str | None = Field(
        None, description="Start of the film reference used (as references)."
    )
    substrate_from: str | None = Field(
        None, description="Start of the substrate reference used (as references)."
    )
    interface_start: int = Field(
        0,
        description="Start of the interface used: 0 the cell of the lowest single "
        "point, i the i-th next distinct registry (interfaces.relax_top > 1).",
    )
    e_interface_starts: list[float] = Field(
        default_factory=list,
        description="Relaxed interface energy of every start (eV; relax_top > 1).",
    )


class BindingEnergyDoc(BaseModel):
    """Binding energies E_bind(n) of Li7P3S11 films on one substrate."""

    kind: str = Field(..., description="'hetero' (on the core) or 'homo'.")
    label: str = Field(..., description="Substrate label, e.g. 'Al2S3' or 'Li7P3S11'.")
    substrate_formula: str = Field(..., description="Substrate composition.")
    area: float = Field(..., description="Interface area (A^2).")
    von_mises_strain: float = Field(..., description="Residual strain (fraction).")
    calculator: str = Field(..., description="Calculator of the relaxations.")
    points: list[BindingPoint] = Field(..., description="One per film thickness n.")
    e_bind: float | None = Field(
        None,
        description="E_bind at the thickest converged film (eV/A^2): the summary "
        "value compared between hetero and homo.",
    )
    n_summary: int | None = Field(None, description="n of the summary value.")
