"""Result documents of the vacancy and mu_Li jobs (pydantic, every field described)."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pymatgen.core import Structure


class VacancySite(BaseModel):
    """One symmetry-distinct Li site and its vacancy single point."""

    index: int = Field(..., description="Site index in the host supercell.")
    multiplicity: int = Field(..., description="Equivalent sites it stands for.")
    label: str = Field("", description="Wyckoff label of the site ('gb' near a GB).")
    distance_to_boundary: float | None = Field(
        None, description="GB cells: distance from the nearest boundary plane (A)."
    )
    energy: float = Field(..., description="Unrelaxed single point of the cell (eV).")
    relative_energy: float = Field(
        ..., description="Above the lowest unrelaxed vacancy (meV per cell)."
    )


class VacancyScreenDoc(BaseModel):
    """Li vacancies at every distinct site, ranked by single points."""

    label: str = Field(..., description="Phase label, e.g. 'Al2S3 core'.")
    host_formula: str = Field(..., description="Composition of the host supercell.")
    host_job: str | None = Field(None, description="Job id of the relaxed host.")
    supercell: tuple[int, int, int] = Field(..., description="Of the relaxed host.")
    screening_model: str = Field(..., description="MLIP of the single points.")
    sites: list[VacancySite] = Field(..., description="Lowest single point first.")
    host: Structure = Field(..., description="Host supercell (E_host reference).")
    selected: list[Structure] = Field(
        ..., description="Vacancy cells of the lowest sites, to be relaxed."
    )


class VacancyEnergy(BaseModel):
    """Relaxed formation energy of one Li vacancy."""

    site: int = Field(..., description="Site index in the host supercell.")
    e_v: float | None = Field(
        None,
        description="E_v = E(defect) + mu_Li(bcc Li) - E(host) in eV; None if the "
        "relaxation did not converge.",
    )
    converged: bool = Field(..., description="The defect relaxation converged.")
    job: str = Field(..., description="Job id of the defect relaxation.")


class ChemicalPotentialDoc(BaseModel):
    """mu_Li of one phase from its Li vacancies (SCIENCE.md item 7)."""

    label: str = Field(..., description="Phase label, e.g. 'Al2S3 core'.")
    host_formula: str = Field(..., description="Composition of the host supercell.")
    e_host: float = Field(..., description="Host supercell energy (eV).")
    mu_li_bcc: float = Field(..., description="bcc Li energy per atom (eV).")
    vacancies: list[VacancyEnergy] = Field(..., description="Relaxed vacancies.")
    e_v_min: float | None = Field(None, description="Lowest converged E_v (eV).")
    mu_li: float | None = Field(
        None, description="mu_Li = -min E_v (eV, relative to bcc Li)."
    )
    n_sites: int = Field(..., description="Distinct Li sites screened.")
    calculator: str = Field(..., description="Calculator of the relaxations.")
    jobs: dict[str, str] = Field(..., description="Job ids of host and bcc Li.")
