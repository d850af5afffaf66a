"""Result documents of the reaction-energy jobs (pydantic, every field described)."""

from __future__ import annotations

from pydantic import BaseModel, Field


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
