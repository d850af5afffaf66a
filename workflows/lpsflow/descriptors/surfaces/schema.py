"""Result documents of the surface-energy jobs (pydantic, described)."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pymatgen.core import Structure


class SurfaceTermination(BaseModel):
    """One termination of the plane, by its unrelaxed single point."""

    shift: float = Field(..., description="SlabGenerator shift of the termination.")
    symmetric: bool = Field(..., description="Top and bottom faces are equivalent.")
    n_atoms: int = Field(..., description="Atoms in the slab.")
    gamma: float = Field(
        ..., description="Unrelaxed single-point surface energy (J/m^2)."
    )


class SurfaceScreenDoc(BaseModel):
    """The terminations of one plane and the chosen (lowest) one."""

    phase: str = Field(..., description="Bulk phase (reduced formula).")
    miller: tuple[int, int, int] = Field(..., description="Surface (hkl).")
    terminations: list[SurfaceTermination] = Field(
        ...,
        description="Stoichiometric terminations keeping every P-S unit whole, "
        "in SlabGenerator order.",
    )
    selected: int = Field(..., description="Index of the lowest termination.")
    slab: Structure = Field(
        ..., description="The chosen slab (c normal to the surface, vacuum both sides)."
    )
    area: float = Field(..., description="In-plane area (A^2).")
    screening_model: str = Field(..., description="MLIP of the single points.")
    bulk_job: str = Field(..., description="Job id of the relaxed bulk.")


class SurfaceEnergyDoc(BaseModel):
    """Surface energy of one relaxed slab, gamma = (E_slab - n e_bulk) / (2 A)."""

    phase: str = Field(..., description="Bulk phase (reduced formula).")
    miller: tuple[int, int, int] = Field(..., description="Surface (hkl).")
    gamma: float | None = Field(
        None,
        description="Relaxed surface energy (J/m^2; mean of both faces); None "
        "unless the slab and bulk relaxations converged.",
    )
    gamma_unrelaxed: float = Field(
        ..., description="The chosen termination's single-point value (J/m^2)."
    )
    converged: bool = Field(..., description="Slab and bulk relaxations converged.")
    e_slab: float = Field(..., description="Relaxed slab energy (eV).")
    e_bulk_per_atom: float = Field(..., description="Relaxed bulk (eV/atom).")
    n_atoms: int = Field(..., description="Atoms in the slab.")
    area: float = Field(..., description="In-plane area A (A^2).")
    n_terminations: int = Field(..., description="Terminations screened.")
    symmetric: bool = Field(
        True,
        description="Top and bottom faces equivalent (else gamma is the mean of "
        "two different faces).",
    )
    calculator: str = Field("", description="Calculator of the relaxed energies.")
    relaxed_slab: Structure = Field(..., description="The relaxed slab.")
    jobs: dict[str, str] = Field(
        default_factory=dict, description="Job ids of the slab and bulk relaxations."
    )
    reason: str = Field("", description="Why gamma is None, if it is.")
