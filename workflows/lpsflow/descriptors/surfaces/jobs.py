"""Surface-energy jobs: screen the terminations of a plane, then gamma relaxed.

``screen_surface`` cuts every stoichiometric termination of the relaxed bulk that
keeps its P-S units whole (:func:`~lpsflow.structures.slabs.polyhedral_slabs`),
ranks them by MLIP single points and keeps the lowest. Its relaxation (cell fixed,
vacuum on both sides; phase :data:`~lpsflow.calculators.base.INTERFACE`, so VASP
adds the dipole correction) is an ordinary backend relax job, and
``surface_energy_job`` gives ``gamma = (E_slab - n e_bulk) / (2 A)`` with the
relaxed bulk of the same calculator as reference.
"""

from __future__ import annotations

from typing import Any

from jobflow import job

from lpsflow.calculators.outputs import as_plain, summarize
from lpsflow.descriptors.reactions.jobs import pick_lowest
from lpsflow.descriptors.surfaces.schema import (
    SurfaceEnergyDoc,
    SurfaceScreenDoc,
    SurfaceTermination,
)
from lpsflow.jobs.identity import kind
from lpsflow.jobs.screening import single_points
from lpsflow.structures.slab_geometry import in_plane_area
from lpsflow.structures.slabs import (
    EV_PER_A2_TO_J_PER_M2,
    polyhedral_slabs,
    surface_energy,
)


@job
@kind("screen_surface")
def screen_surface(
    bulk: list[dict[str, Any]],
    miller: tuple[int, int, int],
    min_slab: float = 10.0,
    model: str = "CHGNet",
    device: str = "cpu",
) -> SurfaceScreenDoc:
    """Every whole-unit termination of (hkl), ranked by single points.

    ``bulk``: ``{"doc": relax output, "uuid": job id}`` candidates of the relaxed
    bulk (the lowest converged one is cut); ``min_slab``: slab thickness (A).
    """
    ib, sums = pick_lowest(bulk)
    ref = sums[ib]
    cands = polyhedral_slabs(ref.structure, tuple(miller), min_slab=min_slab)
    energies = single_points([c.slab for c in cands] + [ref.structure], model, device)
    e_bulk = energies[-1] / len(ref.structure)
    gammas = [
        surface_energy(c.slab, e, e_bulk) * EV_PER_A2_TO_J_PER_M2
        for c, e in zip(cands, energies, strict=False)
    ]
    low = min(range(len(cands)), key=gammas.__getitem__)
    return SurfaceScreenDoc(
        phase=ref.formula,
        miller=tuple(miller),
        terminations=[
            SurfaceTermination(
                shift=c.shift, symmetric=c.symmetric, n_atoms=len(c.slab), gamma=g
            )
            for c, g in zip(cands, gammas, strict=True)
        ],
        selected=low,
        slab=cands[low].slab,
        area=in_plane_area(cands[low].slab),
        screening_model=model,
        bulk_job=bulk[ib]["uuid"],
    )


@job
@kind("surface_energy")
def surface_energy_job(
    screen: Any, slab: dict[str, Any], bulk: list[dict[str, Any]]
) -> SurfaceEnergyDoc:
    """Gamma = (E_slab - n e_bulk) / (2 A) of the relaxed slab.

    ``screen``: the :class:`SurfaceScreenDoc`; ``slab``: the relaxation of its slab
    (``{"doc", "uuid"}``); ``bulk``: the relaxed bulk candidates (the one the
    screen cut is the reference). A value only when both relaxations converged.
    """
    scr = as_plain(screen)
    s_slab = summarize(slab["doc"])
    ref = next((c for c in bulk if c["uuid"] == scr["bulk_job"]), None)
    ref = ref or bulk[pick_lowest(bulk)[0]]
    s_bulk = summarize(ref["doc"])
    relaxed = s_slab.structure
    gamma = surface_energy(relaxed, s_slab.energy, s_bulk.energy_per_atom)
    reasons = [
        f"{what} relaxation not converged"
        for what, s in (("slab", s_slab), ("bulk", s_bulk))
        if not s.converged
    ]
    converged = not reasons
    return SurfaceEnergyDoc(
        phase=scr["phase"],
        miller=tuple(scr["miller"]),
        gamma=gamma * EV_PER_A2_TO_J_PER_M2 if converged else None,
        gamma_unrelaxed=scr["terminations"][scr["selected"]]["gamma"],
        converged=converged,
        e_slab=s_slab.energy,
        e_bulk_per_atom=s_bulk.energy_per_atom,
        n_atoms=len(relaxed),
        area=in_plane_area(relaxed),
        n_terminations=len(scr["terminations"]),
        symmetric=scr["terminations"][scr["selected"]]["symmetric"],
        calculator=s_slab.calculator,
        relaxed_slab=relaxed,
        jobs={"slab": slab["uuid"], "bulk": ref["uuid"]},
        reason="; ".join(reasons),
    )
