"""Interface jobs: build and screen film/substrate cells, then E_bind(n).

``screen_interface`` runs after the bulks are relaxed: it picks the lowest surface
energy termination of film and substrate (MLIP single points of the candidate slabs
of :func:`~lpsflow.structures.slabs.polyhedral_slabs`), lattice-matches them,
stacks n film layers for every in-plane rigid shift
(:func:`~lpsflow.structures.interfaces.build_interfaces`), keeps the shift with the
lowest single point and cuts the strained film and substrate references from that
cell. The relaxations (cell fixed, bottom substrate layers fixed) are ordinary
backend relax jobs; by default the references are also relaxed from the relaxed
interface's parts (``interface_parts``) and the lower energies used.
``binding_energy_job`` combines them.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
from jobflow import job
from pymatgen.core import Structure

from lpsflow.calculators.outputs import as_plain, summarize
from lpsflow.descriptors.binding.schema import (
    BindingEnergyDoc,
    BindingPoint,
    InterfaceGeometry,
    InterfacePartsDoc,
    InterfaceScreenDoc,
    InterfaceStartsDoc,
    ShiftEnergy,
    Termination,
)
from lpsflow.descriptors.reactions.jobs import pick_lowest
from lpsflow.errors import StructureError
from lpsflow.jobs.identity import kind
from lpsflow.jobs.screening import single_point, single_points
from lpsflow.structures.interface_energies import (
    consistent_binding_energy,
    relaxed_references,
    strained_references,
)
from lpsflow.structures.interfaces import InterfaceSet, build_interfaces
from lpsflow.structures.slab_geometry import fixed_indices, in_plane_area
from lpsflow.structures.slabs import (
    EV_PER_A2_TO_J_PER_M2,
    SlabCandidate,
    copy_candidate,
    lowest_energy_slab,
    polyhedral_slabs,
    structure_key,
)
from lpsflow.structures.stacking import shifts

#: :func:`_termination` results of this process (the n = 1 and n = 2 screens, and
#: every accelerant's hetero screens, terminate the same relaxed bulks).
_TERMINATIONS: dict[tuple, tuple[SlabCandidate, Termination]] = {}


def _termination(
    bulk: Structure, miller: tuple[int, int, int], model: str, device: str
) -> tuple[SlabCandidate, Termination]:
    """Lowest-surface-energy termination of ``bulk`` (hkl), by MLIP single points."""
    key = (structure_key(bulk), tuple(miller), model, device)
    if key not in _TERMINATIONS:
        _TERMINATIONS[key] = _lowest_termination(bulk, miller, model, device)
    best, term = _TERMINATIONS[key]
    return copy_candidate(best), term.model_copy()


def _lowest_termination(
    bulk: Structure, miller: tuple[int, int, int], model: str, device: str
) -> tuple[SlabCandidate, Termination]:
    candidates = polyhedral_slabs(bulk, miller)
    e_bulk = single_point(bulk, model, device) / len(bulk)
    if len(candidates) == 1:
        best = candidates[0]
        gamma = None
    else:
        best = lowest_energy_slab(
            candidates, lambda s: single_point(s, model, device), e_bulk
        )
        gamma = best.surface_energy * EV_PER_A2_TO_J_PER_M2
    return best, Termination(
        formula=bulk.composition.reduced_formula,
        miller=tuple(miller),
        shift=best.shift,
        symmetric=best.symmetric,
        n_candidates=len(candidates),
        surface_energy=gamma,
    )


#: Single points closer than this (eV per cell) count as one registry
#: (symmetry-equivalent shifts give the same energy to round-off).
SAME_REGISTRY_EV = 1e-3


def registry_order(
    energies: list[float], distinct: bool = True, rest: bool = True
) -> list[int]:
    """Cell indices by single point, lowest first.

    ``distinct``: one cell per registry first (single points more than
    :data:`SAME_REGISTRY_EV` apart), then (``rest``) the others, so the first k
    are the k lowest distinct registries wherever there are k.
    """
    order = sorted(range(len(energies)), key=energies.__getitem__)
    if not distinct:
        return order
    kept: list[int] = []
    for i in order:
        if all(abs(energies[i] - energies[k]) > SAME_REGISTRY_EV for k in kept):
            kept.append(i)
    return kept + [i for i in order if i not in kept] if rest else kept


@dataclass
class ScreenedShifts:
    """The n-layer cells of every rigid shift and their MLIP single points."""

    iset: InterfaceSet
    cells: list[Structure]  # pymatgen Interface objects, one per shift
    energies: list[float]
    film: Termination
    substrate: Termination
    best: int  # index of the substrate candidate used


def screen_shifts(
    kind: str,
    film: dict[str, Any],
    substrates: list[dict[str, Any]],
    n_layers: int,
    geometry: InterfaceGeometry,
    model: str = "CHGNet",
    device: str = "cpu",
    substrate_host: dict[str, Any] | None = None,
    energies: list[float] | None = None,
) -> ScreenedShifts:
    """Terminate, match and stack the cells of :func:`screen_interface`; rank them.

    Arguments as :func:`screen_interface`'s; ``energies``: the cells' single points
    if known (a screen's), else computed.
    """
    film_miller, substrate_miller = geometry.film_miller, geometry.substrate_miller
    series, vacuum = geometry.series, geometry.vacuum
    film_bulk = summarize(film["doc"]).structure
    best, sums = pick_lowest(substrates)
    sub_bulk = sums[best].structure
    film_t, film_term = _termination(film_bulk, film_miller, model, device)
    if kind == "homo" and tuple(film_miller) == tuple(substrate_miller):
        sub_t, sub_term = film_t, film_term
    else:
        sub_t, sub_term = _termination(sub_bulk, substrate_miller, model, device)
    iset = build_interfaces(
        film_bulk,
        sub_bulk,
        film_miller,
        substrate_miller,
        film_layers=[n_layers],
        substrate_layers=series["substrate_layers"],
        fixed_layers=series["fixed_layers"],
        vacuum=vacuum,
        shift_grid=shifts(*series["shift_grid"]),
        max_area=series["max_area"],
        max_strain=series["max_strain"],
        max_length_tol=series["max_length_tol"],
        max_angle_tol=series["max_angle_tol"],
        max_area_ratio_tol=series["max_area_ratio_tol"],
        film_termination=film_t,
        substrate_termination=sub_t,
        kind=kind,
        substrate_host=(
            summarize(substrate_host["doc"]).structure if substrate_host else None
        ),
    )
    cells = iset.for_layers(n_layers)
    if energies is None:
        energies = single_points(cells, model, device)
    elif len(energies) != len(cells):
        raise StructureError(
            f"{len(cells)} rigid shifts built, {len(energies)} single points given: "
            "not the cells of that screen"
        )
    return ScreenedShifts(iset, cells, energies, film_term, sub_term, best)


@job
@kind("screen_interface")
def screen_interface(
    kind: str,
    label: str,
    film: dict[str, Any],
    substrates: list[dict[str, Any]],
    n_layers: int,
    geometry: InterfaceGeometry,
    model: str = "CHGNet",
    device: str = "cpu",
    substrate_host: dict[str, Any] | None = None,
) -> InterfaceScreenDoc:
    """Build the n-layer interface for every rigid shift; keep the lowest.

    Parameters
    ----------
    kind
        ``hetero`` or ``homo``.
    label
        Name of the substrate in results (accelerant or ``Li7P3S11``).
    film, substrates
        ``{"doc": relax output, "uuid": job id}`` of the relaxed film bulk and the
        substrate candidates (the lowest converged one is used).
    n_layers
        Film thickness in layers.
    geometry
        Planes, series settings and vacuum (:class:`InterfaceGeometry`).
    substrate_host
        ``{"doc": relax output}`` of the undoped phase of a doped substrate: the
        series' ``substrate_layers`` and ``fixed_layers`` then count its layers
        (rounded up to whole layers of the substrate), the same thickness for
        every dopant arrangement.

    """
    screened = screen_shifts(
        kind,
        film,
        substrates,
        n_layers,
        geometry,
        model,
        device,
        substrate_host,
    )
    iset, cells, energies = screened.iset, screened.cells, screened.energies
    film_term, sub_term, best = screened.film, screened.substrate, screened.best
    low = min(range(len(cells)), key=energies.__getitem__)
    chosen = Structure.from_sites(cells[low])  # plain Structure: no Interface class
    film_ref, sub_ref = strained_references(chosen)
    m = iset.match
    return InterfaceScreenDoc(
        kind=kind,
        label=label,
        n_layers=n_layers,
        film=film_term,
        substrate=sub_term,
        substrate_job=substrates[best]["uuid"],
        area=m.area,
        von_mises_strain=m.von_mises_strain,
        film_vectors=m.film_vectors,
        substrate_vectors=m.substrate_vectors,
        n_atoms=len(chosen),
        n_fixed=len(fixed_indices(chosen)),
        screening_model=model,
        shifts=[
            ShiftEnergy(
                shift=tuple(c.interface_properties["shift_substrate_cell"]),
                registry=bool(c.interface_properties.get("registry")),
                energy=e,
                relative_energy=1000 * (e - energies[low]),
            )
            for c, e in zip(cells, energies, strict=True)
        ],
        selected=low,
        interface=chosen,
        film_reference=film_ref,
        substrate_reference=sub_ref,
    )


@job
@kind("interface_starts")
def interface_starts(
    screen: Any,
    relax_top: int,
    film: dict[str, Any],
    substrates: list[dict[str, Any]],
    geometry: InterfaceGeometry,
    model: str = "CHGNet",
    device: str = "cpu",
    substrate_host: dict[str, Any] | None = None,
) -> InterfaceStartsDoc:
    """The cells of the next ``relax_top - 1`` distinct registries of a screen.

    ``screen`` is the :class:`InterfaceScreenDoc`; the other arguments are its
    job's. Its cells are built again (the same deterministic construction, its
    single points reused): a separate job, so that the screen and everything
    downstream of it keep their ids when ``interfaces.relax_top`` changes.
    Registries: :func:`registry_order`; where there are fewer distinct ones, the
    next cells by single point fill up.
    """
    scr = as_plain(screen)
    energies = [s["energy"] for s in scr["shifts"]]
    shifted = screen_shifts(
        scr["kind"],
        film,
        substrates,
        scr["n_layers"],
        geometry,
        model,
        device,
        substrate_host,
        energies=energies,
    )
    chosen = Structure.from_sites(shifted.cells[scr["selected"]])
    if not np.allclose(
        chosen.cart_coords, _structure(scr["interface"]).cart_coords, atol=1e-6
    ):
        raise StructureError("the rebuilt cells are not the screen's: cannot pick")
    order = [i for i in registry_order(energies) if i != scr["selected"]]
    picked = order[: relax_top - 1]
    return InterfaceStartsDoc(
        kind=scr["kind"],
        label=scr["label"],
        n_layers=scr["n_layers"],
        selected=picked,
        relative_energies=[1000 * (energies[i] - min(energies)) for i in picked],
        cells=[Structure.from_sites(shifted.cells[i]) for i in picked],
    )


@job
@kind("interface_parts")
def interface_parts(
    screen: Any, interface: dict[str, Any], start: Any = None
) -> InterfacePartsDoc:
    """Film and substrate of the relaxed interface, to relax as its references.

    ``screen`` is the :class:`InterfaceScreenDoc` of the cell, ``interface`` its
    relaxation (``{"doc", "uuid"}``), ``start`` the cell it started from if not the
    screen's ``interface`` (another registry, ``interfaces.relax_top``). The parts
    keep that cell's labels and fixed atoms
    (:func:`~lpsflow.structures.interfaces.relaxed_references`).
    """
    scr = as_plain(screen)
    relaxed = summarize(interface["doc"]).structure
    cell = _structure(scr["interface"] if start is None else start)
    film, substrate = relaxed_references(cell, relaxed)
    return InterfacePartsDoc(
        kind=scr["kind"],
        label=scr["label"],
        n_layers=scr["n_layers"],
        interface_job=interface["uuid"],
        film=film,
        substrate=substrate,
    )


@job
@kind("binding_energy")
def binding_energy_job(
    kind: str,
    label: str,
    screens: list[Any],
    interfaces: list[dict[str, Any]],
    films: list[dict[str, Any]],
    substrates: list[dict[str, Any]],
    parts: list[Any] | None = None,
    alternatives: dict[str, list[dict[str, Any]]] | None = None,
    pool_substrates: bool = False,
    starts: list[list[dict[str, Any]]] | None = None,
) -> BindingEnergyDoc:
    """E_bind(n) = (E_interface - E_film - E_substrate) / A for each screened n.

    ``screens`` are the :class:`InterfaceScreenDoc` of n = 1..N; ``interfaces``,
    ``films`` and ``substrates`` the matching relaxations (``{"doc", "uuid"}``;
    one substrate for all n when the references were cut from the screened cells,
    whose substrate is the same block in every n). ``parts``: the
    :class:`InterfacePartsDoc` the references started from, if they were cut from
    the relaxed interfaces. ``alternatives`` (``{"films", "substrates"}``, with
    ``parts``): the same references relaxed from the screened cells as well; each
    reference is then the lower-energy converged one of the two. With
    ``pool_substrates``, every n takes the lowest converged substrate of all n's
    starts: the substrate is the same block (cell, atoms, fixed positions) in every
    n, so its lowest relaxation is the best estimate of its minimum for all of them,
    and E_bind(n) differ by the interfaces and films only. The geometry of
    the references is checked against each interface before any energy is combined
    (:func:`~lpsflow.structures.interfaces.consistent_binding_energy`). A value is
    only reported when all three relaxations converged.

    ``starts`` (``interfaces.relax_top`` > 1): per n, the further interfaces
    relaxed from other registries (:func:`interface_starts`), each ``{"start": i,
    "cell": screened cell, "interface": relaxation}`` with ``"parts"``, ``"film"``
    and ``"substrate"`` (its parts and their relaxations) when the references come
    from the parts. Each n takes its lowest converged interface; their parts join
    the candidates of the references.
    """
    screens = [as_plain(s) for s in screens]
    cut = [(s["film_reference"], s["substrate_reference"]) for s in screens]
    own, start = cut, "screened_cell"
    if parts is not None:
        own = [(p["film"], p["substrate"]) for p in map(as_plain, parts)]
        start = "relaxed_interface"
    # per n, the (relaxation, starting structure, start) candidates of each reference
    sources = [(films, substrates, own, start)]
    if alternatives:
        sources.append(
            (alternatives["films"], alternatives["substrates"], cut, "screened_cell")
        )
    f_cands: list[list] = [[] for _ in screens]
    s_cands: list[list] = [[] for _ in screens]
    for f_jobs, s_jobs, refs, origin in sources:
        s_jobs = s_jobs * len(screens) if len(s_jobs) == 1 else s_jobs
        for n, (f_job, s_job, (f_ref, s_ref)) in enumerate(
            zip(f_jobs, s_jobs, refs, strict=True)
        ):
            f_cands[n].append((f_job, f_ref, origin))
            s_cands[n].append((s_job, s_ref, origin))
    i_cands: list[list] = [  # per n, (relaxation, start, starting cell)
        [(i_job, 0, scr["interface"])]
        for i_job, scr in zip(interfaces, screens, strict=True)
    ]
    for n, extra in enumerate(starts or []):
        for st in extra:
            i_cands[n].append((st["interface"], st["start"], st["cell"]))
            if st.get("parts") is not None:
                part = as_plain(st["parts"])
                f_cands[n].append((st["film"], part["film"], start))
                s_cands[n].append((st["substrate"], part["substrate"], start))
    if pool_substrates:  # the n's own starts first: they win a tie
        s_cands = [
            list({c[0]["uuid"]: c for c in [*own, *chain(*s_cands)]}.values())
            for own in s_cands
        ]
    sub_ref = _structure(screens[0]["substrate_reference"])
    points = []
    for scr, i_cand, f_cand, s_cand in zip(
        screens, i_cands, f_cands, s_cands, strict=True
    ):
        (i_job, i_start, i_cell), s_i = _lowest(i_cand)
        (f_job, f_ref, f_from), s_f = _lowest(f_cand)
        (s_job, s_ref, s_from), s_s = _lowest(s_cand)
        e_bind = consistent_binding_energy(
            _structure(i_cell),
            s_i.energy,
            _structure(f_ref),
            s_f.energy,
            _structure(s_ref),
            s_s.energy,
        )
        converged = s_i.converged and s_f.converged and s_s.converged
        points.append(
            BindingPoint(
                n_layers=scr["n_layers"],
                e_bind=e_bind if converged else None,
                e_bind_j_m2=e_bind * EV_PER_A2_TO_J_PER_M2 if converged else None,
                converged=converged,
                e_interface=s_i.energy,
                e_film=s_f.energy,
                e_substrate=s_s.energy,
                n_atoms=s_i.n_atoms,
                jobs={
                    "interface": i_job["uuid"],
                    "film": f_job["uuid"],
                    "substrate": s_job["uuid"],
                    **_others(
                        interface=(i_cand, i_job),
                        film=(f_cand, f_job),
                        substrate=(s_cand, s_job),
                    ),
                },
                interface_start=i_start,
                e_interface_starts=(
                    [summarize(c[0]["doc"]).energy for c in i_cand]
                    if len(i_cand) > 1
                    else []
                ),
                references="lowest" if alternatives else start,
                film_from=f_from,
                substrate_from=s_from,
            )
        )
    done = [p for p in points if p.e_bind is not None]
    summary = max(done, key=lambda p: p.n_layers) if done else None
    return BindingEnergyDoc(
        kind=kind,
        label=label,
        substrate_formula=sub_ref.composition.reduced_formula,
        area=in_plane_area(sub_ref),  # the A of E_bind (the match's, unrounded)
        von_mises_strain=screens[0]["von_mises_strain"],
        calculator=s_i.calculator,
        points=points,
        e_bind=summary.e_bind if summary else None,
        n_summary=summary.n_layers if summary else None,
    )


def _others(**used: tuple[list, dict]) -> dict[str, str]:
    """``{what}_other``: the first candidate of each reference not used."""
    out = {}
    for what, (cands, chosen) in used.items():
        rest = [c[0]["uuid"] for c in cands if c[0]["uuid"] != chosen["uuid"]]
        if rest:
            out[f"{what}_other"] = rest[0]
    return out


def _lowest(cands: list[tuple]) -> tuple[tuple, Any]:
    """The candidate (relaxation first) of lowest converged energy, else the first."""
    sums = [summarize(c[0]["doc"]) for c in cands]
    done = [i for i, x in enumerate(sums) if x.converged] or [0]
    best = min(done, key=lambda i: sums[i].energy)
    return cands[best], sums[best]


def _structure(obj: Any) -> Structure:
    return obj if isinstance(obj, Structure) else Structure.from_dict(obj)
