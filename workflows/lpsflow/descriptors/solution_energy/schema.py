"""Result documents of the solution-energy job (pydantic, every field described)."""

from __future__ import annotations

from pydantic import BaseModel, Field

#: Chemical-potential conditions: the phase coexisting with Li3PS4, whose
#: equilibrium with it fixes mu_Li2S and mu_P2S5. The first is the headline (a
#: doped core beside Li7P3S11, as in the study's glass-ceramics), the second the
#: Li2S-rich bound.
CONDITIONS = ("Li7P3S11", "Li2S")


class SolutionPoint(BaseModel):
    """The solution energy of the lowest doped cell at one dopant content."""

    x: float = Field(..., description="Dopant per PS4 formula unit.")
    formula: str = Field(..., description="Formula of the doped cell.")
    n_dopants: int = Field(..., description="Dopant atoms M in the cell.")
    reaction: str = Field(
        ...,
        description="The balanced solution reaction per cell, e.g. '16 Li3PS4 + "
        "0.5 Al2S3 -> Li45Al1P16S64 + 1.5 Li2S'.",
    )
    energy_per_dopant: dict[str, float] = Field(
        ...,
        description="Solution energy per dopant atom (eV) under each condition "
        "(the phase coexisting with Li3PS4 that sets mu_Li2S and mu_P2S5); "
        "negative: putting M from the accelerant into Li3PS4 lowers the energy.",
    )
    converged: bool = Field(
        ..., description="Every relaxation behind it reached tolerance."
    )
    job_uuid: str = Field(..., description="Relaxation of the doped cell used.")


class SolutionEnergyDoc(BaseModel):
    """E_sol: the energy of dissolving one M of the accelerant in Li3PS4."""

    accelerant: str = Field(..., description="Accelerant formula.")
    scheme: str = Field(..., description="Charge-compensation scheme.")
    x: float = Field(..., description="Dopant content of the campaign's core.")
    reservoir_energies: dict[str, float] = Field(
        ...,
        description="Energy per atom (eV/atom) of Li3PS4, the accelerant (the M "
        "reservoir: E_sol is a lower bound if a ternary holds M more stably), the "
        "phases coexisting with Li3PS4 (Li7P3S11, Li2S) and P2S5.",
    )
    li7p3s11_above_tie: float = Field(
        ...,
        description="Li7P3S11 above the Li3PS4-P2S5 tie line in the campaign's "
        "energies (meV/atom); positive: the headline condition is a metastable "
        "equilibrium (as Li7P3S11 in the glass-ceramic is), which lowers a Li-site "
        "E_sol by (q/2) x 21 x this / 1000 eV.",
    )
    chemical_potentials: dict[str, dict[str, float]] = Field(
        ...,
        description="Condition (the phase coexisting with Li3PS4) -> mu_Li2S and "
        "mu_P2S5 (eV per formula unit) it fixes.",
    )
    energy_per_dopant: dict[str, float] = Field(
        ...,
        description="E_sol per dopant (eV) of the core at ``x``, per condition "
        "(empty if the series has no cell at x).",
    )
    points: list[SolutionPoint] = Field(..., description="E_sol of each x, by x.")
    converged: bool = Field(
        ..., description="Every energy used comes from a converged calculation."
    )
