"""Result documents of lpsflow's own jobs (pydantic, every field described)."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pymatgen.core import Structure

from lpsflow.structures.doping import Arrangement


class ScreenedArrangement(BaseModel):
    """One dopant/vacancy arrangement given a cheap single point."""

    rank: int = Field(..., description="Rank by single-point energy (0 = lowest).")
    arrangement: Arrangement = Field(
        ..., description="Sites of dopant, vacancies and extra Li in the supercell."
    )
    multiplicity: int = Field(..., description="Symmetry-equivalent arrangements.")
    ewald_energy: float | None = Field(
        None, description="Electrostatic energy with formal charges (eV), pre-screen."
    )
    energy: float = Field(..., description="Single-point energy (eV).")
    relative_energy: float = Field(
        ..., description="Energy above the lowest screened arrangement (meV/cell)."
    )


class DopingScreenDoc(BaseModel):
    """Dopant arrangements ranked by MLIP single points; the lowest go on to relax."""

    accelerant: str = Field(..., description="Accelerant formula, e.g. Al2S3.")
    scheme: str = Field(..., description="Charge compensation: 'Li-site' or 'P-site'.")
    x: float = Field(..., description="Dopant per PS4 formula unit.")
    supercell: tuple[int, int, int] = Field(..., description="Supercell of the host.")
    formula: str = Field(..., description="Formula of the doped cell.")
    n_distinct: int = Field(..., description="Symmetry-distinct arrangements found.")
    screening_model: str = Field(..., description="MLIP used for the single points.")
    candidates: list[ScreenedArrangement] = Field(
        ..., description="Screened arrangements, lowest energy first."
    )
    selected: list[Structure] = Field(
        ..., description="Unrelaxed structures of the lowest arrangements, to relax."
    )


class ReactionInput(BaseModel):
    """One species of a reaction and the calculation its energy comes from."""

    formula: str = Field(..., description="Formula used in the balance.")
    phase: str = Field(..., description="Phase name.")
    coefficient: float = Field(..., description="Coefficient (reactants negative).")
    energy_per_atom: float = Field(..., description="Energy per atom used (eV/atom).")
    converged: bool = Field(..., description="Its relaxation reached tolerance.")
    job_uuid: str = Field(..., description="Job that computed it.")
    calculator: str = Field("", description="Calculator that computed it.")
    n_candidates: int = Field(
        1, description="Relaxed candidates (e.g. dopant arrangements) compared."
    )
    candidate_energies: list[float | None] = Field(
        default_factory=list,
        description="Energy per atom of each candidate (eV/atom; None: unconverged).",
    )


class ReactionEnergyDoc(BaseModel):
    """dE_r per atom of one reaction (dG_r ~ dE_r, as in the study)."""

    label: str = Field(..., description="What forms, e.g. 'core Al2S3 Li-site'.")
    product: str = Field(..., description="Phase whose formation this is.")
    reaction: str = Field(..., description="Balanced reaction.")
    energy_per_atom: float = Field(
        ..., description="Reaction energy per atom of the reaction (eV/atom)."
    )
    converged: bool = Field(
        ..., description="Every energy used comes from a converged calculation."
    )
    inputs: list[ReactionInput] = Field(..., description="Species and their sources.")
    p2s5_sensitivity: float = Field(
        0.0,
        description="d(dE_r per atom)/d(E per atom of P2S5): how an error in the "
        "P4S10 molecular-crystal reference moves this number.",
    )


class SolubilityPoint(BaseModel):
    """Energy above the hull of the lowest doped cell at one dopant content."""

    x: float = Field(..., description="Dopant per PS4 formula unit.")
    formula: str = Field(..., description="Formula of the doped cell.")
    e_above_hull: float = Field(
        ...,
        description="Energy relative to the hull of the undoped phases (meV/atom); "
        "negative: stable against decomposition into them.",
    )
    decomposition: dict[str, float] = Field(
        ..., description="Stable phases it decomposes to (formula -> fraction)."
    )
    converged: bool = Field(..., description="Its relaxation reached tolerance.")
    job_uuid: str = Field(..., description="Relaxation the energy comes from.")


class SolubilityDoc(BaseModel):
    """Dopant solubility from the convex hull of the campaign's own entries."""

    accelerant: str = Field(..., description="Accelerant formula.")
    scheme: str = Field(..., description="Charge-compensation scheme.")
    terminals: list[str] = Field(
        ..., description="Terminal compositions of the (compound) phase diagram."
    )
    threshold: float = Field(
        ..., description="Stability threshold on the energy above hull (meV/atom)."
    )
    points: list[SolubilityPoint] = Field(..., description="The series, by x.")
    solubility_limit: float | None = Field(
        ...,
        description="Largest x of the series up to which every cell stays below the "
        "threshold; None: already the smallest x is above it.",
    )
    limit_label: str = Field(
        ...,
        description="The limit as text: 'x', '< x_min' (even the smallest x is above "
        "the threshold) or '>= x_max' (the largest x computed is still below it).",
    )
    converged: bool = Field(
        ..., description="Every energy used comes from a converged calculation."
    )
    hull_phases: dict[str, float] = Field(
        ...,
        description="Energy above hull (meV/atom) of the undoped reference phases "
        "(Li3PS4, Li7P3S11, Li4P2S6): a check of the hull itself.",
    )
