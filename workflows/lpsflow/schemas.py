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
