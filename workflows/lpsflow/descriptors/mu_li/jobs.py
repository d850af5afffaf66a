"""Li vacancy jobs: distinct sites screened, lowest relaxed, mu_Li = -min E_v.

SCIENCE.md item 7: ``E_v = E(defect) + mu_Li(bcc Li) - E(bulk)`` for every
symmetry-distinct Li site; ``mu_Li = -E_v`` of the lowest. Every distinct site of
the relaxed host (in a supercell whose lattice vectors are all at least
``min_length``) gets an unrelaxed single point; the lowest ``relax_top`` are relaxed
with the cell fixed; E(host) is a single point of the same supercell with the same
calculator (so k-points and settings cancel).
"""

from __future__ import annotations

import math
from typing import Any

from jobflow import job
from pymatgen.core import Structure

from lpsflow.calculators.outputs import as_plain, summarize
from lpsflow.descriptors.mu_li.schema import (
    ChemicalPotentialDoc,
    VacancyEnergy,
    VacancyScreenDoc,
    VacancySite,
)
from lpsflow.descriptors.reactions.jobs import pick_lowest
from lpsflow.jobs.identity import kind
from lpsflow.jobs.screening import single_points
from lpsflow.structures.vacancies import (
    boundary_li_sites,
    distinct_li_sites,
    li_chemical_potential,
    vacancy_cell,
    vacancy_formation_energy,
)


def supercell_for(lattice_abc: tuple[float, float, float], min_length: float) -> tuple:
    """Smallest diagonal supercell with every lattice vector >= ``min_length``."""
    return tuple(max(1, math.ceil(min_length / a - 1e-9)) for a in lattice_abc)


def host_structure(doc: Any) -> tuple[Structure, bool]:
    """Relaxed host cell of a relax output or a ``GBEnergyDoc``; and its convergence."""
    doc = as_plain(doc)
    if "relaxed_cell" in doc:  # GBEnergyDoc: grain labels and planes restored
        cell = doc["relaxed_cell"]
        cell = cell if isinstance(cell, Structure) else Structure.from_dict(cell)
        return cell, bool(doc["converged"])
    s = summarize(doc)
    return s.structure, s.converged


@job
@kind("screen_vacancies")
def screen_vacancies(
    label: str,
    hosts: list[dict[str, Any]],
    min_length: float,
    relax_top: int,
    model: str = "CHGNet",
    device: str = "cpu",
    region: str = "bulk",
    window: float = 3.0,
) -> VacancyScreenDoc:
    """Single points of a Li vacancy at every distinct site; keep the lowest.

    ``region="bulk"``: ``hosts`` are relaxations (``{"doc", "uuid"}``; the lowest
    converged is used), the sites its symmetry-distinct Li sites in a supercell
    with every lattice vector >= ``min_length``. ``region="gb"``: ``hosts`` holds
    one relaxed GB (a ``GBEnergyDoc``); the sites are the distinct Li within
    ``window`` (A) of its boundary planes
    (:func:`~lpsflow.structures.vacancies.boundary_li_sites`), in the GB cell.
    """
    if region == "gb":
        best = 0
        host, _ = host_structure(hosts[0]["doc"])
        sites = boundary_li_sites(host, window, max_sites=max(6, relax_top))
        scale = (1, 1, 1)
        index = [s.index for s in sites]
    else:
        best, sums = pick_lowest(hosts)
        prim = sums[best].structure.copy()
        sites = distinct_li_sites(prim)
        scale = supercell_for(prim.lattice.abc, min_length)
        host = prim.copy()
        host.make_supercell(list(scale))
        index = [site_at(host, prim[s.index].coords) for s in sites]
    cells = [vacancy_cell(host, i) for i in index]
    energies = single_points(cells, model, device)
    order = sorted(range(len(cells)), key=energies.__getitem__)
    e0 = energies[order[0]]
    return VacancyScreenDoc(
        label=label,
        host_formula=host.composition.formula.replace(" ", ""),
        host_job=hosts[best]["uuid"],
        supercell=scale,
        screening_model=model,
        sites=[
            VacancySite(
                index=index[i],
                multiplicity=sites[i].multiplicity,
                label=sites[i].label,
                distance_to_boundary=sites[i].distance_to_boundary,
                energy=energies[i],
                relative_energy=1000 * (energies[i] - e0),
            )
            for i in order
        ],
        host=host,
        selected=[cells[i] for i in order[:relax_top]],
    )


def site_at(supercell, cart) -> int:
    """Index of the supercell site at Cartesian position ``cart``."""
    d = supercell.lattice.get_all_distances(
        supercell.lattice.get_fractional_coords(cart), supercell.frac_coords
    )[0]
    return int(d.argmin())


@job
@kind("chemical_potential")
def chemical_potential_job(
    label: str,
    screen: Any,
    host: dict[str, Any],
    defects: list[dict[str, Any]],
    li_bcc: dict[str, Any],
) -> ChemicalPotentialDoc:
    """E_v of each relaxed vacancy and mu_Li = -min E_v (converged ones only)."""
    screen = as_plain(screen)
    s_host, s_li = summarize(host["doc"]), summarize(li_bcc["doc"])
    mu_bcc = s_li.energy_per_atom
    vac = []
    for site, d in zip(screen["sites"], defects, strict=False):
        s = summarize(d["doc"])
        if s.n_atoms != s_host.n_atoms - 1:
            raise ValueError(
                f"defect cell has {s.n_atoms} atoms, host {s_host.n_atoms}: "
                "not one Li fewer"
            )
        e_v = vacancy_formation_energy(s.energy, s_host.energy, mu_bcc)
        vac.append(
            VacancyEnergy(
                site=site["index"],
                e_v=e_v if s.converged else None,
                converged=s.converged,
                job=d["uuid"],
            )
        )
    done = [v.e_v for v in vac if v.e_v is not None]
    return ChemicalPotentialDoc(
        label=label,
        host_formula=screen["host_formula"],
        e_host=s_host.energy,
        mu_li_bcc=mu_bcc,
        vacancies=vac,
        e_v_min=min(done) if done else None,
        mu_li=li_chemical_potential(done) if done else None,
        n_sites=len(screen["sites"]),
        calculator=s_host.calculator,
        jobs={"host": host["uuid"], "li_bcc": li_bcc["uuid"]},
    )
