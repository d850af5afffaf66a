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

from itertools import chain
from typing import Any

from jobflow import job
from pymatgen.core import Structure

from lpsflow.calculators.outputs import as_plain, summarize
from lpsflow.jobs.reactions import pick_lowest
from lpsflow.jobs.screening import single_point, single_points
from lpsflow.schemas import (
    BindingEnergyDoc,
    BindingPoint,
    InterfacePartsDoc,
    InterfaceScreenDoc,
    ShiftEnergy,
    Termination,
)
from lpsflow.structures.interfaces import (
    build_interfaces,
    consistent_binding_energy,
    relaxed_references,
    shifts,
    strained_references,
)
from lpsflow.structures.slabs import (
    EV_PER_A2_TO_J_PER_M2,
    SlabCandidate,
    copy_candidate,
    fixed_indices,
    in_plane_area,
    lowest_energy_slab,
    polyhedral_slabs,
    structure_key,
)

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


@job
def screen_interface(
    kind: str,
    label: str,
    film: dict[str, Any],
    substrates: list[dict[str, Any]],
    n_layers: int,
    film_miller: tuple[int, int, int],
    substrate_miller: tuple[int, int, int],
    series: dict[str, Any],
    vacuum: float,
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
    series
        :class:`~lpsflow.campaign.InterfaceSeriesSettings` as a dict.
    vacuum
        Vacuum above the film (A).
    substrate_host
        ``{"doc": relax output}`` of the undoped phase of a doped substrate: the
        series' ``substrate_layers`` and ``fixed_layers`` then count its layers
        (rounded up to whole layers of the substrate), the same thickness for
        every dopant arrangement.

    """
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
    energies = single_points(cells, model, device)
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
def interface_parts(screen: Any, interface: dict[str, Any]) -> InterfacePartsDoc:
    """Film and substrate of the relaxed interface, to relax as its references.

    ``screen`` is the :class:`InterfaceScreenDoc` of the cell, ``interface`` its
    relaxation (``{"doc", "uuid"}``). The parts keep the screened cell's labels and
    fixed atoms (:func:`~lpsflow.structures.interfaces.relaxed_references`).
    """
    scr = as_plain(screen)
    relaxed = summarize(interface["doc"]).structure
    film, substrate = relaxed_references(_structure(scr["interface"]), relaxed)
    return InterfacePartsDoc(
        kind=scr["kind"],
        label=scr["label"],
        n_layers=scr["n_layers"],
        interface_job=interface["uuid"],
        film=film,
        substrate=substrate,
    )


@job
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
    if pool_substrates:  # the n's own starts first: they win a tie
        s_cands = [
            list({c[0]["uuid"]: c for c in [*own, *chain(*s_cands)]}.values())
            for own in s_cands
        ]
    sub_ref = _structure(screens[0]["substrate_reference"])
    points = []
    for scr, i_job, f_cand, s_cand in zip(
        screens, interfaces, f_cands, s_cands, strict=True
    ):
        s_i = summarize(i_job["doc"])
        (f_job, f_ref, f_from), s_f = _lowest(f_cand)
        (s_job, s_ref, s_from), s_s = _lowest(s_cand)
        e_bind = consistent_binding_energy(
            _structure(scr["interface"]),
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
                    **_others(film=(f_cand, f_job), substrate=(s_cand, s_job)),
                },
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


def _lowest(cands: list[tuple[dict, Any, str]]) -> tuple[tuple[dict, Any, str], Any]:
    """The candidate reference with the lowest converged energy (else the first)."""
    sums = [summarize(c[0]["doc"]) for c in cands]
    done = [i for i, x in enumerate(sums) if x.converged] or [0]
    best = min(done, key=lambda i: sums[i].energy)
    return cands[best], sums[best]


def _structure(obj: Any) -> Structure:
    return obj if isinstance(obj, Structure) else Structure.from_dict(obj)
