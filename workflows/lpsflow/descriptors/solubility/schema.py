"""Result documents and inputs of the solubility jobs (pydantic, fields described)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from lpsflow.jobs.identity import Spec


class Sublattices(Spec):
    """What a doping scheme puts where, per dopant, and the sites per PS4 of each."""

    host_sites: float = Field(
        ...,
        description="Sites per PS4 of the host sublattice M enters or leaves "
        "vacancies on (Li: 3; P: 1).",
    )
    vacancies: float = Field(
        ...,
        description="Li vacancies per dopant, on that sublattice (Li-, empty-site).",
    )
    interstitials: float = Field(0.0, description="Extra Li per dopant (P-site).")
    interstitial_sites: float = Field(
        0.0, description="Candidate interstitial Li sites per PS4 of the host."
    )
    empty_sites: float = Field(
        0.0,
        description="Empty LiS6 sites per PS4 of the host, which M enters "
        "(empty-site scheme; 0: M enters the host sublattice).",
    )


class SolubilityPoint(BaseModel):
    """The lowest doped cell at one dopant content: hull energy and free energy."""

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
    e_sol: dict[str, float] = Field(
        default_factory=dict,
        description="Solution energy per dopant (eV) under each condition.",
    )
    entropy: float = Field(
        0.0, description="Configurational entropy per PS4 (k_B), ideal mixing."
    )
    free_energy: dict[str, float] = Field(
        default_factory=dict,
        description="dF = x E_sol - T S per PS4 (meV) under each condition.",
    )
    converged: bool = Field(..., description="Its relaxation reached tolerance.")
    job_uuid: str = Field(..., description="Relaxation the energy comes from.")


class SolubilityLimit(BaseModel):
    """The x that minimises the free energy of mixing under one condition."""

    x: float = Field(
        ...,
        description="Dopant per PS4 taken up at equilibrium, vacancies and extra Li "
        "mixing freely (the most entropy: an upper bound).",
    )
    at_max: bool = Field(
        ...,
        description="dF still falls at the largest x computed: the limit is at least "
        "that (x is then x_max).",
    )
    label: str = Field(..., description="As text: '0.0071', '>= 1/4' or '< 1e-12'.")
    rests_on: list[float] = Field(
        ...,
        description="The computed x whose E_sol set dF at the limit (the two around "
        "it; the most dilute one below the series; x_max at it).",
    )
    x_bound: float = Field(
        ...,
        description="The limit with vacancies and extra Li bound to the dopant (only "
        "the dopant's entropy: a lower bound).",
    )
    bound_at_max: bool = Field(..., description="x_bound is at least x_max.")
    label_bound: str = Field(..., description="x_bound as text.")
    two_phase: list[tuple[float, float]] = Field(
        default_factory=list,
        description="x ranges where dF (free defects) is not convex: a uniform "
        "solution there splits into the two ends.",
    )


class SolubilityDoc(BaseModel):
    """Dopant solubility from the free energy of mixing; hull energies beside it."""

    accelerant: str = Field(..., description="Accelerant formula.")
    scheme: str = Field(..., description="Charge-compensation scheme.")
    terminals: list[str] = Field(
        ..., description="Terminal compositions of the (compound) phase diagram."
    )
    temperature: float = Field(
        ..., description="Synthesis temperature T of the free energy (K)."
    )
    sites: Sublattices = Field(..., description="Sublattices of the entropy.")
    points: list[SolubilityPoint] = Field(..., description="The series, by x.")
    limits: dict[str, SolubilityLimit] = Field(
        ...,
        description="Condition (phase beside Li3PS4 fixing mu_Li2S, mu_P2S5) -> "
        "the limit; the first is the headline.",
    )
    solubility_limit: float = Field(
        ..., description="The headline condition's limit (x per PS4)."
    )
    limit_label: str = Field(..., description="The headline limit as text.")
    converged: bool = Field(
        ..., description="Every energy used comes from a converged calculation."
    )
    hull_phases: dict[str, float] = Field(
        ...,
        description="Energy above hull (meV/atom) of the undoped reference phases "
        "(Li3PS4, Li7P3S11): a check of the hull itself.",
    )
