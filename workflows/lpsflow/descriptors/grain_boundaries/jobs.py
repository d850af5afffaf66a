"""Grain-boundary jobs: build and screen bicrystal cells, then gamma_GB.

``screen_grain_boundary`` runs after the bulks are relaxed: it builds the periodic
bicrystal GB cells of
:func:`~lpsflow.structures.grain_boundaries.build_grain_boundaries` from the
*relaxed* bulk(s), one per rigid in-plane shift of grain B, evaluates each
with an MLIP single point and keeps the lowest. The relaxation of the chosen cell
(all atoms free; the in-plane cell fixed, its length normal to the boundaries
relaxed unless ``grain_boundaries.relax_normal`` is off) is an ordinary backend
relax job (phase :data:`lpsflow.calculators.base.GRAIN_BOUNDARY`);
``gb_energy_job`` turns it into ``gamma = (E_GB - sum_i n_i e_i) / (2 A)`` with the
relaxed bulks' energies per atom (same calculator) as references
(:func:`~lpsflow.structures.grain_boundaries.cell_gb_energy`), and the excess
volume per area the same way from the volumes
(:func:`~lpsflow.structures.grain_boundaries.cell_excess_volume`).

Kinds (SCIENCE.md item 6):

* ``homo``: Li7P3S11 / Li7P3S11, grain A = grain B (``bulk_b`` is ``None``);
* ``core``: core / core;
* ``hetero``: core (grain A) / Li7P3S11 (grain B). Grain B is strained onto grain
  A's coincidence cell, so gamma includes grain B's elastic energy (the strain is
  reported with it).
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import numpy as np
from jobflow import job
from pymatgen.core import Structure

from lpsflow.calculators.outputs import as_plain, summarize
from lpsflow.descriptors.grain_boundaries.schema import (
    GBEnergyDoc,
    GBGeometry,
    GBNormalEnergy,
    GBScreenDoc,
    GBShiftEnergy,
)
from lpsflow.descriptors.reactions.jobs import pick_lowest
from lpsflow.errors import StructureError
from lpsflow.jobs.identity import kind
from lpsflow.jobs.screening import single_points
from lpsflow.structures.grain_boundaries import (
    boundary_planes,
    build_with_settings,
    cell_excess_volume,
    cell_gb_energy,
    same_units,
    separate_grains,
)
from lpsflow.structures.slab_geometry import in_plane_area
from lpsflow.structures.slabs import EV_PER_A2_TO_J_PER_M2

#: GB kinds and whether grain B is a different bulk.
GB_KINDS = {"homo": False, "core": False, "hetero": True}


def _structure(obj: Any) -> Structure:
    return obj if isinstance(obj, Structure) else Structure.from_dict(obj)


@job
@kind("screen_grain_boundary")
def screen_grain_boundary(
    kind: str,
    label: str,
    bulk_a: list[dict[str, Any]],
    bulk_b: list[dict[str, Any]] | None,
    geometry: GBGeometry,
    model: str = "CHGNet",
    device: str = "cpu",
    parent: Structure | None = None,
) -> GBScreenDoc:
    """Build the GB cells for every rigid shift; keep the lowest single point.

    Parameters
    ----------
    kind
        ``homo``, ``core`` (grain B = grain A's bulk; ``bulk_b`` ignored; a
        ``miller_b`` other than ``miller_a`` makes an asymmetric boundary, grain B
        cut on that plane) or ``hetero`` (grain A = ``bulk_a``, grain B =
        ``bulk_b``).
    label
        Name of the GB in results.
    bulk_a, bulk_b
        ``{"doc": relax output, "uuid": job id}`` candidates of each relaxed bulk
        (the lowest converged one per list is used).
    geometry
        Boundary planes and construction settings (:class:`GBGeometry`).
    parent
        Undoped host in grain A's orientation whose symmetry decides which
        misorientations are no boundary (``core`` GBs of doped cells).

    """
    if kind not in GB_KINDS:
        raise StructureError(f"GB kind must be one of {sorted(GB_KINDS)}, not {kind!r}")
    miller_a, miller_b, settings = (
        geometry.miller_a,
        geometry.miller_b,
        geometry.settings,
    )
    ia, sums_a = pick_lowest(bulk_a)
    a = sums_a[ia]
    two = GB_KINDS[kind] or (
        miller_b is not None and tuple(miller_b) != tuple(miller_a)
    )  # two bulks, or one bulk on two planes (asymmetric)
    if GB_KINDS[kind]:
        if not bulk_b or miller_b is None:
            raise StructureError("a hetero GB needs bulk_b and miller_b")
        ib, sums_b = pick_lowest(bulk_b)
        b, b_job = sums_b[ib], bulk_b[ib]["uuid"]
    else:
        b, b_job = a, bulk_a[ia]["uuid"]
        miller_b = miller_b if two else None
    s = dict(settings)
    try:
        gset = build_with_settings(
            a.structure, tuple(miller_a),
            b.structure if two else None,
            tuple(miller_b) if miller_b is not None else None, s, kind=kind,
            parent=_structure(parent) if parent is not None else None,
        )  # fmt: skip
    except StructureError as exc:  # on the relaxed bulks: say what to change
        change = (
            f"Change grain_boundaries.{kind}.layers_a / layers_b"
            if "terminations of" in str(exc)
            else f"Raise grain_boundaries.{kind}.max_area (or the strain / ZSL "
            "tolerances)"
        )
        raise StructureError(
            f"grain_boundaries.{kind} on the relaxed cells: {exc}. {change} in the "
            "campaign file and run it again: finished jobs are kept"
        ) from exc
    contact = single_points(gset.cells, model, device)
    step, steps = float(s.get("normal_step", 0.0)), int(s.get("normal_max_steps", 8))
    scans = [
        normal_scan(cell, e, step, steps, model, device)
        for cell, e in zip(gset.cells, contact, strict=True)
    ]
    bests = [min(scan, key=lambda t: t[1]) for scan in scans]
    low = min(range(len(bests)), key=lambda k: bests[k][1])
    scan, best = scans[low], bests[low]
    chosen = best[2]
    props = chosen.properties["gb"]
    gm = gset.match
    return GBScreenDoc(
        kind=kind,
        label=label,
        formula_a=a.formula,
        formula_b=b.formula,
        miller_a=tuple(miller_a),
        miller_b=tuple(miller_b if miller_b is not None else miller_a),
        match=gm.describe(),
        sigma=gm.sigma,
        twist_angle=gm.twist_angle,
        flipped=gm.flipped,
        misorientation_axis=gm.misorientation_axis,
        misorientation_angle=gm.misorientation_angle,
        von_mises_strain=gm.match.von_mises_strain,
        area=in_plane_area(chosen),
        n_atoms=len(chosen),
        n_atoms_a=props["n_atoms_a"],
        n_atoms_b=props["n_atoms_b"],
        screening_model=model,
        shifts=[
            GBShiftEnergy(
                shift=tuple(c.properties["gb"]["shift"]),
                energy=b[1],
                relative_energy=1000 * (b[1] - best[1]),
                contact_energy=e,
                offset=b[0],
            )
            for c, e, b in zip(gset.cells, contact, bests, strict=True)
        ],
        selected=low,
        normal_scan=[
            GBNormalEnergy(offset=d, energy=e, relative_energy=1000 * (e - best[1]))
            for d, e, _ in scan
        ],
        normal_offset=best[0],
        gb=chosen,
        bulk_a_job=bulk_a[ia]["uuid"],
        bulk_b_job=b_job,
        e_a_per_atom=a.energy_per_atom,
        e_b_per_atom=b.energy_per_atom,
        settings={**gset.settings, "shift_grid": list(s.get("shift_grid", (2, 2)))},
    )


def normal_scan(
    cell: Structure,
    energy: float,
    step: float,
    max_steps: int,
    model: str,
    device: str,
) -> list[tuple[float, float, Structure]]:
    """Walk one shift's boundary separation downhill from contact, rigidly.

    ``(offset, energy, cell)`` of every separation evaluated (MLIP single points
    of :func:`~lpsflow.structures.grain_boundaries.separate_grains`), the contact
    cell first: one step each way, then on in the direction that went down while
    the energy keeps falling, up to ``max_steps`` steps. A separation that brings
    atoms under 1.5 A, joins P-S units across a boundary or interleaves the
    grains along the normal ends the walk (a contact cell whose grains already
    interleave is not scanned).
    """
    out: list[tuple[float, float, Structure]] = [(0.0, energy, cell)]
    if step <= 0 or max_steps < 1:
        return out

    def trial(offset: float) -> Structure | None:
        try:
            moved = separate_grains(cell, offset)
        except StructureError:  # the grains interleave along the normal
            return None
        return moved if same_units(moved, cell) else None

    first = [(d, c) for d in (-step, step) if (c := trial(d)) is not None]
    if not first:
        return out
    for (d, c), e in zip(
        first, single_points([c for _, c in first], model, device), strict=True
    ):
        out.append((round(d, 6), e, c))
    best = min(out, key=lambda t: t[1])
    if best[0] == 0.0:
        return out
    sign = 1.0 if best[0] > 0 else -1.0
    for k in range(2, max_steps + 1):
        c = trial(sign * k * step)
        if c is None:
            break
        e = single_points([c], model, device)[0]
        out.append((round(sign * k * step, 6), e, c))
        if e >= best[1]:
            break
        best = out[-1]
    return out


def _pick(candidates: list[dict[str, Any]] | None, uuid: str) -> dict[str, Any] | None:
    """The candidate the screen used (by job id), else the lowest converged one."""
    if not candidates:
        return None
    for c in candidates:
        if c["uuid"] == uuid:
            return c
    return candidates[pick_lowest(candidates)[0]]


def restore_gb_properties(relaxed: Structure, screened: Structure) -> Structure:
    """``relaxed`` with the screened cell's site properties and ``properties``.

    The GB relaxation keeps the atom order and the in-plane cell (it may change
    the length along the normal, c); the ``grain``/``layer`` site properties and the
    boundary planes (``properties['gb']``) the hop and energy analyses need are
    copied back, the planes' heights found anew midway across the relaxed gaps.
    Raises ``StructureError`` if the two cells do not hold the same atoms in the
    same order, or if the relaxation moved the in-plane cell or tilted c.
    """
    if [s.species_string for s in relaxed] != [s.species_string for s in screened]:
        raise StructureError("relaxed GB cell has other atoms than the screened one")
    new, old = relaxed.lattice.matrix, screened.lattice.matrix
    if not (
        np.allclose(new[:2], old[:2], atol=1e-4)
        and np.allclose(new[2, :2], old[2, :2], atol=1e-4)
    ):
        raise StructureError(
            "relaxed GB cell differs from the screened cell in-plane (relax with the "
            "cell fixed, or only its length normal to the boundaries)"
        )
    props = copy.deepcopy(dict(screened.properties or {}))
    out = Structure(
        relaxed.lattice,
        relaxed.species,
        relaxed.frac_coords,
        site_properties={
            k: list(v)
            for k, v in screened.site_properties.items()
            if k in ("grain", "layer")
        },
        properties=props,
    )
    gb = props.get("gb")
    if gb and "boundary_z" in gb:
        try:  # midway across each relaxed gap
            gb["boundary_z"] = boundary_planes(out)
        except StructureError:  # grains interleave: scale with the cell
            scale = float(new[2, 2] / old[2, 2])
            gb["boundary_z"] = [float(z) * scale for z in gb["boundary_z"]]
        out.properties["gb"] = gb
    return out


@job
@kind("gb_energy")
def gb_energy_job(
    screen: Any,
    gb: dict[str, Any],
    bulk_a: list[dict[str, Any]],
    bulk_b: list[dict[str, Any]] | None = None,
) -> GBEnergyDoc:
    """gamma_GB = (E_GB - n_A e_A - n_B e_B) / (2 A) of the relaxed GB cell.

    ``screen`` is the :class:`GBScreenDoc`; ``gb`` the relaxation of its cell and
    ``bulk_a``/``bulk_b`` the relaxed bulk candidates (``{"doc", "uuid"}``; the ones
    the screen built the cell from are used, ``bulk_b`` defaults to ``bulk_a``).
    Atoms per grain come from the screened cell (the relaxation keeps the order).
    A value is only reported when the GB and bulk relaxations converged.
    """
    scr = as_plain(screen)
    cell = _structure(scr["gb"])
    s_gb = summarize(gb["doc"])
    ref_a = _pick(bulk_a, scr["bulk_a_job"])
    ref_b = _pick(bulk_b, scr["bulk_b_job"]) or _pick(bulk_a, scr["bulk_b_job"])
    s_a, s_b = summarize(ref_a["doc"]), summarize(ref_b["doc"])
    relaxed = restore_gb_properties(s_gb.structure, cell)
    grains = Counter(cell.site_properties["grain"])
    gamma = cell_gb_energy(
        relaxed, s_gb.energy, s_a.energy_per_atom, s_b.energy_per_atom
    )
    excess = cell_excess_volume(
        relaxed,
        s_a.structure.volume / len(s_a.structure),
        s_b.structure.volume / len(s_b.structure),
    )
    reasons = [
        f"{what} relaxation not converged"
        for what, s in (("GB", s_gb), ("grain A bulk", s_a), ("grain B bulk", s_b))
        if not s.converged
    ]
    converged = not reasons
    return GBEnergyDoc(
        kind=scr["kind"],
        label=scr["label"],
        gamma=gamma * EV_PER_A2_TO_J_PER_M2 if converged else None,
        gamma_ev_a2=gamma if converged else None,
        converged=converged,
        e_gb=s_gb.energy,
        e_a_per_atom=s_a.energy_per_atom,
        e_b_per_atom=s_b.energy_per_atom,
        n_atoms_a=grains["A"],
        n_atoms_b=grains["B"],
        area=in_plane_area(cell),
        sigma=scr["sigma"],
        misorientation_angle=scr["misorientation_angle"],
        von_mises_strain=scr["von_mises_strain"],
        excess_volume=excess if converged else None,
        normal_length=float(relaxed.lattice.matrix[2, 2]),
        normal_length_change=float(
            relaxed.lattice.matrix[2, 2] - cell.lattice.matrix[2, 2]
        ),
        calculator=s_gb.calculator,
        relaxed_cell=relaxed,
        start_cell=cell,
        jobs={"gb": gb["uuid"], "bulk_a": ref_a["uuid"], "bulk_b": ref_b["uuid"]},
        reason="; ".join(reasons),
    )
