"""Export the VASP inputs a campaign would run, without running anything.

Useful to check a campaign before submitting it to a cluster, and to see exactly the
INCAR/KPOINTS (and POTCAR symbols) each relaxation gets.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from pymatgen.core import Structure

from lpsflow.calculators.base import DOPED_CORE, GRAIN_BOUNDARY, INTERFACE
from lpsflow.calculators.vasp import VaspBackend, write_vasp_inputs
from lpsflow.descriptors.binding.flow import INTERFACE_PHASE
from lpsflow.flows.campaign import build_campaign
from lpsflow.jobs.identity import arguments
from lpsflow.roles import Role
from lpsflow.structures.vacancies import boundary_li_sites, vacancy_cell

if TYPE_CHECKING:
    from jobflow import Job

    from lpsflow.campaign import Campaign


def export_vasp_inputs(campaign: Campaign, directory: str | Path) -> list[Path]:
    """Write one VASP input set per relaxation of ``campaign`` into ``directory``.

    The campaign is built with the ``vasp`` backend whatever its own backend is.
    Relaxations whose structure comes from an earlier job are written for a
    representative cell: the doped cores for the best-Ewald arrangement applied to
    the unrelaxed host, the interfaces for the first rigid shift built from the
    starting structures (the run picks the shift by single points on relaxed bulks;
    their film and substrate references cut from that cell; by default the run
    also starts them from the relaxed interface's parts), the GBs likewise (and
    their vacancies at the first Li site near a boundary), the surfaces for the
    first whole-unit termination of the starting Li7P3S11.
    """
    vasp = campaign.model_copy(deep=True)
    vasp.calculator.backend = "vasp"
    backend = VaspBackend(vasp.calculator)
    cflow = build_campaign(vasp)
    jobs = {j.uuid: j for j in cflow.flow.jobs}
    out, written = Path(directory), []
    for text, uuid in cflow.roles.items():
        role = Role.parse(text)
        if role.step != "relax":
            continue
        job = jobs[uuid]
        structure, phase = arguments(job)["structure"], role.label
        screen = cflow.roles.get(str(role.but(step="screen", index=None)))
        if role.branch == "gb":  # built by the GB screen job
            structure, phase = (
                _representative_gb(screen, jobs, campaign),
                GRAIN_BOUNDARY,
            )
        elif role.branch == "vacancy" and role.kind == "gb":  # Li sites near a GB
            energy = jobs[arguments(jobs[screen])["hosts"][0]["uuid"]]
            gb = _representative_gb(arguments(energy)["screen"].uuid, jobs, campaign)
            site = boundary_li_sites(gb, campaign.vacancies.gb_window)[0].index
            structure, phase = vacancy_cell(gb, site), GRAIN_BOUNDARY
        elif role.branch == "interface":  # built by the interface screen
            structure = _representative_interface(role, cflow.roles, jobs, campaign)
            phase = INTERFACE_PHASE
        elif role.branch == "surface":  # built by the surface screen
            structure, phase = _representative_slab(jobs[screen], campaign), INTERFACE
        elif role.branch == "vacancy":  # built by the vacancy screen job
            structure, phase = _representative_vacancy(jobs[screen], jobs, campaign)
        elif not isinstance(structure, Structure):  # doped core: built by the screen
            structure = _representative_core(jobs[screen], campaign.structure_overrides)
            phase = DOPED_CORE
        target = out / re.sub(r"[^A-Za-z0-9.-]+", "_", job.name).strip("_")
        maker = getattr(job.function, "__self__", None)  # the job's own maker
        write_vasp_inputs(
            backend, structure, phase, target, maker=maker if _is_vasp(maker) else None
        )
        written.append(target)
    return written


def _is_vasp(maker) -> bool:
    return hasattr(maker, "input_set_generator")


def _representative_core(screen_job, overrides: dict) -> Structure:
    """The Ewald-best doped cell of a screening job, on the unrelaxed host."""
    from lpsflow.structures.doping import Arrangement
    from lpsflow.structures.library import load_structure

    args = arguments(screen_job)
    cell, cation, arrangements = args["supercell"], args["cation"], args["arrangements"]
    host = load_structure("Li3PS4", overrides)
    host.make_supercell(list(cell))
    best = arrangements[0]
    if not isinstance(best, Arrangement):
        best = Arrangement.from_dict(best)
    return best.apply(host, cation).get_sorted_structure()


def _representative_interface(
    role: Role, roles: dict[str, str], jobs: dict, campaign: Campaign
) -> Structure:
    """The unshifted interface cell (or its film/substrate) from starting structures."""
    from lpsflow.structures.interface_energies import strained_references
    from lpsflow.structures.interfaces import build_interfaces
    from lpsflow.structures.library import load_structure

    kind = role.kind
    screen = jobs[roles[str(role.but(step="screen", n=role.n or 1, part=""))]]
    args = arguments(screen)
    substrates, n, geometry = args["substrates"], args["n_layers"], args["geometry"]
    film_miller, sub_miller = geometry.film_miller, geometry.substrate_miller
    series, vacuum = geometry.series, geometry.vacuum
    film = load_structure("Li7P3S11", campaign.structure_overrides)
    if kind == "homo":
        substrate = film
    else:  # the substrate candidates are core relaxations of a screening job's cells
        relax = jobs[substrates[0]["uuid"]]
        core_screen = jobs[arguments(relax)["structure"].uuid]
        substrate = _representative_core(core_screen, campaign.structure_overrides)
    iset = build_interfaces(
        film, substrate, film_miller, sub_miller, film_layers=[n],
        substrate_layers=series["substrate_layers"],
        fixed_layers=series["fixed_layers"], vacuum=vacuum, shift_grid=[(0.0, 0.0)],
        max_area=series["max_area"], max_strain=series["max_strain"],
        max_length_tol=series["max_length_tol"], max_angle_tol=series["max_angle_tol"],
        max_area_ratio_tol=series["max_area_ratio_tol"], registry=False, kind=kind,
        substrate_host=(
            load_structure("Li3PS4", campaign.structure_overrides)
            if args["substrate_host"] is not None
            else None
        ),
    )  # fmt: skip
    cell = Structure.from_sites(iset.interfaces[0])
    film_ref, sub_ref = strained_references(cell)
    what = role.part.split(":")[-1]  # film, substrate, or the interface itself
    return {"film": film_ref, "substrate": sub_ref}.get(what, cell)


def _representative_vacancy(
    screen: Job, jobs: dict, campaign: Campaign
) -> tuple[Structure, str]:
    """A vacancy at the first distinct Li site of the starting host's supercell."""
    from lpsflow.descriptors.mu_li.jobs import site_at, supercell_for
    from lpsflow.structures.vacancies import distinct_li_sites, vacancy_cell

    args = arguments(screen)
    label, min_length = args["label"], args["min_length"]
    relax = jobs[args["hosts"][0]["uuid"]]
    host = arguments(relax)["structure"]
    phase = label
    if not isinstance(host, Structure):  # a doped core built by its screening job
        host = _representative_core(jobs[host.uuid], campaign.structure_overrides)
        phase = DOPED_CORE
    site = distinct_li_sites(host)[0].index
    host = host.copy()
    cart = host[site].coords
    host.make_supercell(list(supercell_for(host.lattice.abc, min_length)))
    return vacancy_cell(host, site_at(host, cart)), phase


def _representative_slab(screen_job: Job, campaign: Campaign) -> Structure:
    """The first whole-unit termination of the screen's plane, starting cell."""
    from lpsflow.descriptors.surfaces.build import PHASE
    from lpsflow.structures.library import load_structure
    from lpsflow.structures.slabs import polyhedral_slabs

    args = arguments(screen_job)
    bulk = load_structure(PHASE, campaign.structure_overrides)
    return polyhedral_slabs(bulk, tuple(args["miller"]), min_slab=args["min_slab"])[
        0
    ].slab


def _representative_gb(screen_uuid: str, jobs: dict, campaign: Campaign) -> Structure:
    """The unshifted GB cell of a GB screen job, from the starting structures."""
    from lpsflow.structures.grain_boundaries import build_with_settings
    from lpsflow.structures.library import load_structure

    screen = jobs[screen_uuid]
    args = arguments(screen)
    kind, bulk_a, geometry = args["kind"], args["bulk_a"], args["geometry"]
    miller_a, miller_b, st = geometry.miller_a, geometry.miller_b, geometry.settings
    li7 = load_structure("Li7P3S11", campaign.structure_overrides)
    if kind == "homo":
        grain_a = li7
    else:  # grain A: a doped core built by its screening job
        relax = jobs[bulk_a[0]["uuid"]]
        grain_a = _representative_core(
            jobs[arguments(relax)["structure"].uuid], campaign.structure_overrides
        )
    parent = args["parent"]
    # grain B: Li7P3S11 (hetero), grain A's bulk on another plane (asymmetric), or
    # grain A itself
    grain_b = li7 if kind == "hetero" else (grain_a if miller_b is not None else None)
    gset = build_with_settings(
        grain_a,
        miller_a,
        grain_b,
        miller_b if grain_b is not None else None,
        st,
        shift_grid=[(0.0, 0.0)],
        kind=kind,
        parent=parent,
    )
    return gset.cells[0]
