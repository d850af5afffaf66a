"""Stacking a strained film on a substrate: rigid shifts, contact distances, cells.

:func:`stacks` builds the interface cells of one lattice match for every rigid
shift; :func:`film_base` puts the film's lowest layer at the contact distance.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from pymatgen.core import Lattice, Structure
from pymatgen.core.interface import Interface
from scipy.linalg import polar

from lpsflow.errors import StructureError
from lpsflow.structures.lattice_match import LatticeMatch, in_plane_vectors, int_matrix
from lpsflow.structures.slab_geometry import (
    BOND_CUTOFF,
    heights,
    layers,
    min_distance,
    polyhedral_units,
    unit_counts,
)
from lpsflow.structures.slabs import MIN_DISTANCE, SlabCandidate

#: Film-substrate contact distance as a fraction of the shortest bulk distance.
CONTACT_SCALE = 0.95


#: Contact distance (A) for element pairs that occur in neither bulk.
DEFAULT_CONTACT = 2.0


# ------------------------------------------------------------------ construction
def shifts(n_a: int, n_b: int) -> list[tuple[float, float]]:
    """Grid of in-plane rigid shifts, fractions of the substrate surface cell.

    :func:`build_interfaces` reads them in the substrate slab's own (primitive) a, b:
    shifts by a substrate lattice vector are equivalent, so sampling the supercell
    would repeat the same registry.
    """
    if n_a < 1 or n_b < 1:
        raise StructureError(f"shift grid {n_a}x{n_b} must be at least 1x1")
    return [(i / n_a, j / n_b) for i in range(n_a) for j in range(n_b)]


def contact_distances(
    *bulks: Structure, scale: float = CONTACT_SCALE, cutoff: float = BOND_CUTOFF
) -> dict[tuple[str, str], float]:
    """``scale`` x the shortest distance of each element pair in ``bulks``.

    P-S bonds (<= ``cutoff``) are skipped, so a film S may not approach a substrate
    P closer than the shortest non-bonded P-S distance (no new P-S bonds).
    """
    out: dict[tuple[str, str], float] = {}
    for bulk in bulks:
        sym = [s.specie.symbol for s in bulk]
        i, j, _, d = bulk.get_neighbor_list(6.0)
        for a, b, dist in zip(i, j, d, strict=True):
            if dist < 1e-8:
                continue
            key = tuple(sorted((sym[a], sym[b])))
            if key == ("P", "S") and dist <= cutoff:
                continue
            if dist < out.get(key, math.inf):  # type: ignore[arg-type]
                out[key] = float(dist)  # type: ignore[index]
    return {k: v * scale for k, v in out.items()}


def _supercell(slab: Structure, m2: np.ndarray) -> Structure:
    m3 = np.eye(3, dtype=int)
    m3[:2, :2] = m2
    s = Structure.from_sites(slab)
    s.make_supercell(m3)
    return s


def _frame(vectors: np.ndarray) -> np.ndarray:
    """Two 3D in-plane vectors in 2D (first along x, normal along +z of a x b)."""
    e1 = vectors[0] / np.linalg.norm(vectors[0])
    n = np.cross(vectors[0], vectors[1])
    e2 = np.cross(n / np.linalg.norm(n), e1)
    return np.array([[v @ e1, v @ e2] for v in vectors])


def _unwrapped(structure: Structure, unit: list[int], cutoff: float) -> np.ndarray:
    """Fractional coordinates of a unit's atoms, unwrapped along its bonds."""
    frac = structure.frac_coords
    i, j, img, _ = structure.get_neighbor_list(
        cutoff, sites=[structure[k] for k in unit]
    )
    members = set(unit)
    pos = {unit[0]: frac[unit[0]]}
    todo = [0]
    while todo:
        a = todo.pop()
        for b, im in zip(j[i == a], img[i == a], strict=True):
            if b in members and b not in pos:
                pos[b] = pos[unit[a]] + (frac[b] + im - frac[unit[a]])
                todo.append(unit.index(b))
    if len(pos) != len(unit):
        raise StructureError("could not unwrap a polyhedral unit")
    return np.array([pos[k] for k in unit])


def _strained_film(
    film: Structure,
    film_vectors: np.ndarray,
    basis: np.ndarray,
    flipped: bool,
    rigid: bool,
) -> np.ndarray:
    """In-plane fractional coordinates of the film on the substrate superlattice.

    ``film`` is the film supercell (its a, b are ``film_vectors``, with b negated if
    ``flipped``). Free atoms follow the homogeneous strain; with ``rigid`` each
    P-S unit keeps its shape: its centroid is strained, its atoms only rotate with
    the rotation part of the strain (P-S bonds keep their length).
    """
    uv = film.frac_coords[:, :2].copy()
    f2d = _frame(film_vectors)
    if flipped:  # supercell b = -F2; the turn mirrors the in-plane frame
        uv[:, 1] *= -1
        f2d = f2d @ np.diag([1.0, -1.0])
    if not rigid:
        return uv
    rot, _ = polar((np.linalg.inv(f2d) @ basis).T, side="right")
    inv_basis = np.linalg.inv(basis)
    for unit in polyhedral_units(film):
        w = _unwrapped(film, unit, BOND_CUTOFF)[:, :2]
        if flipped:
            w[:, 1] *= -1
        c = w.mean(axis=0)
        pos = c @ basis + (w - c) @ f2d @ rot.T
        uv[unit] = pos @ inv_basis
    return uv


def film_base(
    film_uv: np.ndarray,
    film_h: np.ndarray,
    film_sym: list[str],
    sub_uv: np.ndarray,
    sub_h: np.ndarray,
    sub_sym: list[str],
    basis: np.ndarray,
    contacts: dict[tuple[str, str], float],
    min_gap: float,
) -> float:
    """Lowest film base height with every film-substrate pair at its contact."""
    z0 = float(sub_h.max()) + min_gap
    du = film_uv[:, None, :] - sub_uv[None, :, :]
    du -= np.rint(du)
    images = np.array(list(itertools.product((-1, 0, 1), repeat=2)))
    r = np.min(
        np.linalg.norm((du[:, :, None, :] + images[None, None]) @ basis, axis=-1),
        axis=-1,
    )
    names = sorted(set(film_sym) | set(sub_sym))
    table = np.array(
        [
            [contacts.get(tuple(sorted((a, b))), DEFAULT_CONTACT) for b in names]  # type: ignore[arg-type]
            for a in names
        ]
    )
    index = {name: k for k, name in enumerate(names)}
    c = table[
        np.array([index[a] for a in film_sym])[:, None],
        np.array([index[b] for b in sub_sym])[None, :],
    ]
    close = r < c
    if close.any():
        need = sub_h[None, :] - film_h[:, None] + np.sqrt(np.clip(c**2 - r**2, 0, None))
        z0 = max(z0, float(need[close].max()))
    return z0


def stack(
    film: SlabCandidate,
    substrate: SlabCandidate,
    match: LatticeMatch,
    shift: tuple[float, float] = (0.0, 0.0),
    *,
    fixed_layers: int = 0,
    vacuum: float = 15.0,
    contacts: dict[tuple[str, str], float] | None = None,
    min_gap: float = 0.0,
    rigid: bool = True,
    properties: dict | None = None,
) -> Interface:
    """One interface cell: ``film`` strained onto ``substrate`` at ``shift``.

    The in-plane cell is the substrate superlattice of ``match``; the film keeps its
    heights, is shifted by ``shift`` (fractions of the interface a, b) and lowered
    until the first pair reaches its contact distance (``contacts``; default:
    :func:`contact_distances` of the two slabs), but never below ``min_gap`` between
    the highest substrate and the lowest film atom. With ``rigid`` the P-S units
    of the film move as rigid bodies (their centroids follow the strain), so no
    bond is stretched out of the unit. The bottom ``fixed_layers`` substrate layers
    get ``selective_dynamics`` False.
    """
    return stacks(
        film, substrate, match, [shift], fixed_layers=fixed_layers, vacuum=vacuum,
        contacts=contacts, min_gap=min_gap, rigid=rigid, properties=[properties],
    )[0]  # fmt: skip


def stacks(
    film: SlabCandidate,
    substrate: SlabCandidate,
    match: LatticeMatch,
    shifts: Sequence[tuple[float, float]],
    *,
    fixed_layers: int = 0,
    vacuum: float = 15.0,
    contacts: dict[tuple[str, str], float] | None = None,
    min_gap: float = 0.0,
    rigid: bool = True,
    properties: Sequence[dict | None] | None = None,
) -> list[Interface]:
    """:func:`stack` at each of ``shifts`` (``properties``: one dict per shift).

    The supercells, the strained film and the reference unit counts are made once
    for all shifts: only the film's offset and height differ between the cells.
    """
    if contacts is None:
        contacts = contact_distances(film.slab, substrate.slab)
    sub_layers = layers(substrate.slab)
    film_layers = layers(film.slab)
    if fixed_layers > len(sub_layers):
        raise StructureError(
            f"cannot fix {fixed_layers} layers of a {len(sub_layers)}-layer substrate"
        )
    mf = int_matrix(
        np.asarray(match.film_vectors, float),
        np.asarray(film.slab.scale_factor, float)[:2],
        "interface film",
    )
    ms = int_matrix(
        np.asarray(match.substrate_vectors, float),
        np.asarray(substrate.slab.scale_factor, float)[:2],
        "interface substrate",
    )
    if np.linalg.det(ms) <= 0:
        raise StructureError("substrate superlattice must be right-handed")
    flipped = np.linalg.det(mf) < 0
    mf_cell = np.diag([1, -1]) @ mf if flipped else mf

    sub_layer_of = np.empty(len(substrate.slab), dtype=int)
    for k, g in enumerate(sub_layers):
        sub_layer_of[g] = k
    film_layer_of = np.empty(len(film.slab), dtype=int)
    for k, g in enumerate(film_layers):
        film_layer_of[g] = len(sub_layers) + k
    sub = substrate.slab.copy()
    sub.add_site_property("layer", sub_layer_of.tolist())
    fil = film.slab.copy()
    fil.add_site_property("layer", film_layer_of.tolist())
    sub_sc, film_sc = _supercell(sub, ms), _supercell(fil, mf_cell)

    s_vecs = ms @ in_plane_vectors(substrate.slab)
    basis = _frame(s_vecs)  # 2D, right-handed (det(ms) > 0)

    sub_uv = sub_sc.frac_coords[:, :2] % 1.0
    sub_h = heights(sub_sc)
    strained_uv = _strained_film(
        film_sc, mf @ in_plane_vectors(film.slab), basis, flipped, rigid
    )
    film_h = heights(film_sc)
    if flipped:  # 180-degree turn about the first in-plane axis
        film_h = film_h.max() - film_h
    sub_sym = [s.specie.symbol for s in sub_sc]
    film_sym = [s.specie.symbol for s in film_sc]
    species = [s.species for s in sub_sc] + [s.species for s in film_sc]
    layer_prop = list(sub_sc.site_properties["layer"]) + list(
        film_sc.site_properties["layer"]
    )
    n_sub = len(sub_sc)
    fixed = [i < n_sub and layer_prop[i] < fixed_layers for i in range(len(species))]
    props = {
        "interface_label": ["substrate"] * n_sub + ["film"] * len(film_sc),
        "layer": [int(x) for x in layer_prop],
        "selective_dynamics": [[not f] * 3 for f in fixed],
    }
    common = {
        "area": float(abs(np.linalg.det(basis))),
        "n_film_layers": len(film_layers),
        "n_substrate_layers": len(sub_layers),
        "n_fixed_layers": int(fixed_layers),
        "film_flipped": bool(flipped),
        "rigid_units": bool(rigid),
        "von_mises_strain": match.von_mises_strain,
        "film_formula": film_sc.composition.formula,
        "substrate_formula": sub_sc.composition.formula,
    }
    expected = (
        film_sc.composition + sub_sc.composition,
        unit_counts(film_sc) + unit_counts(sub_sc),
    )
    cells = []
    for shift, extra in zip(shifts, properties or [None] * len(shifts), strict=True):
        film_uv = (strained_uv + np.asarray(shift, float)) % 1.0
        z0 = film_base(
            film_uv, film_h, film_sym, sub_uv, sub_h, sub_sym, basis, contacts, min_gap
        )
        top = z0 + film_h.max()
        c_len = top + vacuum
        lattice = Lattice([[*basis[0], 0.0], [*basis[1], 0.0], [0.0, 0.0, c_len]])
        frac = np.vstack(
            [
                np.column_stack([sub_uv, (sub_h + vacuum / 2) / c_len]),
                np.column_stack([film_uv, (film_h + z0 + vacuum / 2) / c_len]),
            ]
        )
        gap = float(z0 - sub_h.max())
        info = {
            "shift": [float(x) for x in shift],
            "gap": gap,
            **common,
            **(extra or {}),
        }
        iface = Interface(
            lattice,
            species,
            frac,
            site_properties=copy.deepcopy(props),
            in_plane_offset=tuple(shift),  # type: ignore[arg-type]
            gap=gap,
            vacuum_over_film=vacuum,
            interface_properties=info,
        )
        _check_interface(iface, *expected)
        cells.append(iface)
    return cells


def _check_interface(iface: Interface, composition: Any, units: Counter) -> None:
    """``composition`` and ``units``: those of the film and substrate together."""
    if iface.composition != composition:
        raise StructureError("interface composition differs from film + substrate")
    if (d := min_distance(iface)) < MIN_DISTANCE:
        raise StructureError(f"interface has atoms {d:.2f} A apart (< {MIN_DISTANCE})")
    if unit_counts(iface) != units:
        raise StructureError(
            "interface P-S units differ from film + substrate (a bond stretched past "
            f"{BOND_CUTOFF} A or formed across the boundary): "
            f"{dict(unit_counts(iface))}"
        )
