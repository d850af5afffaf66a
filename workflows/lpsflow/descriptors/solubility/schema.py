"""Result documents of the solubility jobs (pydantic, every field described)."""

from __future__ import annotations

from pydantic import BaseModel, Field


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
