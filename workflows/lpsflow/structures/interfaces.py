"""Lattice-matched film/substrate cells for heterogeneous-nucleation binding energies.

The study compares n layers of Li7P3S11(010) bound to the doped core's (100)
surface (hetero) with the same film on Li7P3S11(010) (homo):
``E_bind(n) = (E_interface - E_film - E_substrate) / A``.

* :func:`match_interface` finds the coincidence cell with pymatgen's
  :class:`~pymatgen.analysis.interfaces.zsl.ZSLGenerator` (the matcher inside
  ``CoherentInterfaceBuilder``, with the same defaults) on the in-plane lattices of
  the two polyhedral slabs, keeps the matches whose von Mises strain (Green-Lagrange
  strain of ``ZSLMatch.match_transformation``, as ``CoherentInterfaceBuilder``
  reports it) is within ``max_strain`` and returns the one with the smallest area.
  No match raises ``StructureError("no lattice match ...")``.
* :func:`build_interfaces` stacks the film (strained onto the substrate's in-plane
  cell; heights unchanged) on the substrate for n = 1..N film layers and a grid of
  in-plane rigid shifts. It does not use ``CoherentInterfaceBuilder.get_interfaces``:
  those terminations come from SlabGenerator without the P-S check, the film is
  mirrored (z -> -z) and atoms overlapped at the boundary. Here the slabs are the
  checked ones of :mod:`lpsflow.structures.slabs`, the film is only translated (or
  turned over by a proper 180-degree rotation when the match needs it), and for every
  shift the film is lowered onto the substrate until the first film-substrate pair
  reaches its contact distance (``contact_scale`` x the shortest such distance in the
  bulks, P-S bonds excluded), so nothing overlaps and no atom is removed: the
  interface is exactly film + substrate. A final check rejects pairs < 1.5 A.
* For E_bind, the film and substrate references must be in the interface's strained
  in-plane cell: :func:`strained_references` cuts them from the interface cell itself
  (same lattice, same fixed atoms); relax all three with the cell fixed.
  :func:`relaxed_references` cuts them from the *relaxed* interface instead, so each
  reference relaxes into the minimum next to its state in the interface (the
  relaxed work of separation; see ``InterfaceSettings.references``).
  :func:`consistent_binding_energy` refuses references in another cell.

Cells carry the site properties ``interface_label`` (``substrate``/``film``),
``layer`` (0 = bottom substrate layer) and ``selective_dynamics`` (the bottom
``fixed_layers`` substrate layers fixed); ``AseAtomsAdaptor`` maps the latter to ASE
``FixAtoms``. Do not combine with ``fix_symmetry`` in atomate2's relaxer: it replaces
the constraint.

Matches and atom counts with the bundled cells. Li7P3S11 (010) is its a x c plane
(oblique, 149 A^2), beta-Li3PS4 (100) its b x c plane (rectangular, 50.5 A^2). A film
layer is one b repeat of Li7P3S11 (42 atoms per 149 A^2), a core layer half an a
repeat (16 atoms per 50.5 A^2); see :func:`~lpsflow.structures.slabs.layers`.

* quick hetero: 2 film on 6 core cells, 303 A^2, von Mises strain 6.3% (the smallest
  coincidence cell at all); 1 substrate layer (96 atoms, fixed);
  n = 1, 2, 3: 180, 264, 348 atoms.
* quick homo: 1 on 1, 149 A^2, 0%; 2 substrate layers (84 atoms, 1 fixed);
  126, 168, 210 atoms.
* study hetero: 5 film on 14 core cells, 707 A^2, 1.96% (the smallest with <= 3%);
  4 substrate layers (896 atoms, 2 fixed); 1106, 1316, 1526 atoms.
* study homo: 1 on 1; 3 substrate layers (126 atoms, 1 fixed); 168, 210, 252 atoms.
* doped 1x2x2 core cell (quick tolerances): 3 film on 2 doped cells, 404 A^2, 5.3%;
  2 substrate layers = one doped cell thick (252 atoms); 378, 504, 630 atoms.

A 151.6 A^2, 1.0% match exists for Li7P3S11 (100) (b x c) of this cell, not (010).
"""

from __future__ import annotations

import copy
import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from monty.json import MSONable
from pymatgen.analysis.elasticity.strain import Deformation
from pymatgen.analysis.interfaces.zsl import ZSLGenerator, ZSLMatch
from pymatgen.core import Lattice, Structure
from pymatgen.core.interface import Interface
from scipy.linalg import polar

from lpsflow.errors import StructureError
from lpsflow.structures.slabs import (
    BOND_CUTOFF,
    MIN_DISTANCE,
    SlabCandidate,
    blocks_for,
    fixed_indices,
    heights,
    in_plane_area,
    layer_height,
    layered_slab,
    layers,
    min_distance,
    polyhedral_slabs,
    polyhedral_units,
    unit_counts,
)

#: Film-substrate contact distance as a fraction of the shortest bulk distance.
CONTACT_SCALE = 0.95
#: Contact distance (A) for element pairs that occur in neither bulk.
DEFAULT_CONTACT = 2.0
#: Tolerance (A) for "same in-plane lattice" between an interface and a reference.
LATTICE_TOL = 1e-3
#: Largest move (A) of an atom that :func:`pair_sites` accepts when it has to pair
#: atoms given in an unknown order by distance alone.
MAX_RELAX_MOVE = 3.0
#: :func:`pair_sites` keeps a relaxation's own order if its atoms moved in total at
#: most this many times the least total move of any pairing.
PAIRING_SLACK = 1.5


# --------------------------------------------------------------------- matching
@dataclass
class LatticeMatch(MSONable):
    """A coincidence cell of a film surface on a substrate surface."""

    film_vectors: list[list[int]]
    """The two film superlattice vectors in the film bulk's lattice (integers)."""
    substrate_vectors: list[list[int]]
    """The two substrate superlattice vectors in the substrate bulk's lattice."""
    area: float
    """Interface area (A^2): the substrate superlattice (the film is strained)."""
    film_area: float
    """Unstrained film superlattice area (A^2)."""
    von_mises_strain: float
    """Von Mises Green-Lagrange strain of the film (fraction)."""
    principal_strains: list[float]
    """In-plane principal Green-Lagrange strains of the film (fractions)."""
    length_mismatch: list[float]
    """|s_i| / |f_i| - 1 for the two vector pairs."""
    angle_mismatch: float
    """Substrate minus film angle between the superlattice vectors (degrees)."""
    film_flipped: bool
    """The film is turned over (180 degrees about an in-plane axis) to match."""
    n_candidates: int
    """Matches ZSL found within its length/angle/area tolerances."""
    n_within_strain: int
    """Of those, how many have von Mises strain <= the limit."""

    def describe(self) -> str:
        """One line: area, strain and vectors."""
        return (
            f"area {self.area:.1f} A^2, "
            f"von Mises strain {100 * self.von_mises_strain:.2f}%"
            f" (film {self.film_vectors} on substrate {self.substrate_vectors})"
        )


def in_plane_vectors(slab: Structure) -> np.ndarray:
    """The slab's two in-plane lattice vectors (rows)."""
    return np.array(slab.lattice.matrix[:2], dtype=float)


def int_matrix(target: np.ndarray, basis: np.ndarray, what: str) -> np.ndarray:
    """Integer M with target = M @ basis, or StructureError."""
    m = target @ np.linalg.pinv(basis)
    r = np.rint(m)
    if not np.allclose(m, r, atol=1e-4):
        raise StructureError(f"{what}: superlattice is not an integer multiple")
    return r.astype(int)


def lattice_strain(
    film_sl: np.ndarray, sub_sl: np.ndarray
) -> tuple[float, list[float]]:
    """Strain that maps the film superlattice onto the substrate's.

    Its von Mises value and the two in-plane principal strains.
    """
    match = ZSLMatch(
        film_sl_vectors=list(film_sl),
        substrate_sl_vectors=list(sub_sl),
        film_vectors=list(film_sl),
        substrate_vectors=list(sub_sl),
        film_transformation=[[1, 0], [0, 1]],
        substrate_transformation=[[1, 0], [0, 1]],
    )
    gl = Deformation(match.match_transformation).green_lagrange_strain
    eig = np.linalg.eigvalsh(np.asarray(gl))
    eig = eig[np.argsort(np.abs(eig))][1:]  # drop the ~0 out-of-plane value
    return float(gl.von_mises_strain), sorted(float(x) for x in eig)


def _angle(v: np.ndarray) -> float:
    return math.degrees(
        math.acos(
            np.clip(v[0] @ v[1] / np.linalg.norm(v[0]) / np.linalg.norm(v[1]), -1, 1)
        )
    )


def _default_slab(bulk: Structure, miller: Sequence[int]) -> SlabCandidate:
    return polyhedral_slabs(bulk, miller)[0]


#: How much wider :func:`match_interface` searches, when nothing matched, to say in
#: its error which limits would find a cell (area, strain and ZSL tolerances).
PROBE_FACTOR = 1.5


def match_interface(
    film_bulk: Structure,
    film_miller: Sequence[int],
    substrate_bulk: Structure,
    substrate_miller: Sequence[int],
    max_area: float = 400.0,
    max_strain: float = 0.03,
    *,
    max_length_tol: float = 0.03,
    max_angle_tol: float = 0.01,
    max_area_ratio_tol: float = 0.09,
    film_slab: SlabCandidate | None = None,
    substrate_slab: SlabCandidate | None = None,
    probe: bool = True,
) -> LatticeMatch:
    """Smallest-area coincidence cell with von Mises strain <= ``max_strain``.

    ``max_length_tol``, ``max_angle_tol`` and ``max_area_ratio_tol`` are the
    ZSLGenerator tolerances (fractions); ``max_area`` (A^2) bounds the search. The
    slabs default to the first :func:`~lpsflow.structures.slabs.polyhedral_slabs`
    candidate of each surface (only their in-plane lattices matter). Ties in area go
    to the smaller strain, then to a film that need not be turned over. Raises
    ``StructureError("no lattice match ...")``; with ``probe`` its message names the
    smallest match within :data:`PROBE_FACTOR` times ``max_area``, the
    ZSL tolerances and ``max_strain``, if there is one (cells relaxed on another
    machine or device can need a little more than those the campaign was checked
    on).
    """
    film_slab = film_slab or _default_slab(film_bulk, film_miller)
    substrate_slab = substrate_slab or _default_slab(substrate_bulk, substrate_miller)
    fv, sv = in_plane_vectors(film_slab.slab), in_plane_vectors(substrate_slab.slab)
    zsl = ZSLGenerator(
        max_area_ratio_tol=max_area_ratio_tol,
        max_area=max_area,
        max_length_tol=max_length_tol,
        max_angle_tol=max_angle_tol,
        bidirectional=True,
    )
    what = (
        f"{film_bulk.composition.reduced_formula}{tuple(film_miller)} on "
        f"{substrate_bulk.composition.reduced_formula}{tuple(substrate_miller)}"
    )
    rows = []
    for m in zsl(fv, sv, lowest=False):
        f_sl, s_sl = np.array(m.film_sl_vectors), np.array(m.substrate_sl_vectors)
        mf, ms = int_matrix(f_sl, fv, what), int_matrix(s_sl, sv, what)
        if np.linalg.det(ms) < 0:  # keep the substrate cell right-handed
            mf, ms = np.diag([1, -1]) @ mf, np.diag([1, -1]) @ ms
            f_sl, s_sl = mf @ fv, ms @ sv
        vm, principal = lattice_strain(f_sl, s_sl)
        area = float(np.linalg.norm(np.cross(*s_sl)))
        rows.append((round(area, 3), vm, mf, ms, f_sl, s_sl, principal))
    ok = [r for r in rows if r[1] <= max_strain]
    if not ok:
        if rows:
            best = min(rows, key=lambda r: r[1])
            found = (
                f"ZSL found {len(rows)} within its tolerances, the least strained "
                f"{100 * best[1]:.2f}% (area {best[0]:.1f} A^2)"
            )
        else:
            found = "ZSL found none within its tolerances"
        if probe:
            wide = PROBE_FACTOR
            try:
                near = match_interface(
                    film_bulk, film_miller, substrate_bulk, substrate_miller,
                    max_area=wide * max_area, max_strain=wide * max_strain,
                    max_length_tol=wide * max_length_tol,
                    max_angle_tol=wide * max_angle_tol,
                    max_area_ratio_tol=max_area_ratio_tol, film_slab=film_slab,
                    substrate_slab=substrate_slab, probe=False,
                )  # fmt: skip
                found += (
                    f"; the smallest match within {wide:g}x these limits: "
                    f"{near.area:.1f} A^2, von Mises strain "
                    f"{100 * near.von_mises_strain:.2f}%, length mismatch "
                    + "/".join(f"{100 * abs(m):.1f}%" for m in near.length_mismatch)
                    + f", angle mismatch {abs(near.angle_mismatch):.1f} deg"
                )
            except StructureError:
                pass
        raise StructureError(
            f"no lattice match for {what} with von Mises strain <= "
            f"{100 * max_strain:g}% and area <= {max_area:g} A^2 (length tol "
            f"{max_length_tol:g}, angle tol {max_angle_tol:g}, area-ratio tol "
            f"{max_area_ratio_tol:g}): {found}"
        )
    area, vm, mf, ms, f_sl, s_sl, principal = min(
        ok, key=lambda r: (r[0], round(r[1], 9), bool(np.linalg.det(r[2]) < 0))
    )
    sf_f = np.asarray(film_slab.slab.scale_factor)[:2]
    sf_s = np.asarray(substrate_slab.slab.scale_factor)[:2]
    return LatticeMatch(
        film_vectors=np.rint(mf @ sf_f).astype(int).tolist(),
        substrate_vectors=np.rint(ms @ sf_s).astype(int).tolist(),
        area=area,
        film_area=float(np.linalg.norm(np.cross(*f_sl))),
        von_mises_strain=vm,
        principal_strains=principal,
        length_mismatch=[
            float(np.linalg.norm(s_sl[i]) / np.linalg.norm(f_sl[i]) - 1) for i in (0, 1)
        ],
        angle_mismatch=_angle(s_sl) - _angle(f_sl),
        film_flipped=bool(np.linalg.det(mf) < 0),
        n_candidates=len(rows),
        n_within_strain=len(ok),
    )


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


def _layer_offset(
    a: Structure, ia: Sequence[int], b: Structure, ib: Sequence[int]
) -> np.ndarray | None:
    """In-plane fractional t with ``a[ia] + t`` on ``b[ib]`` (same a, b lattice)."""
    ia, ib = list(ia), list(ib)
    if len(ia) != len(ib):
        return None
    basis = in_plane_vectors(a)
    ua, ub = a.frac_coords[ia, :2], b.frac_coords[ib, :2]
    ha, hb = heights(a)[ia], heights(b)[ib]
    ha, hb = ha - ha.min(), hb - hb.min()
    sa = np.array([a[i].species_string for i in ia])
    sb = np.array([b[i].species_string for i in ib])
    k0 = int(np.argmin([np.sum(sa == x) for x in sa]))
    for j in np.flatnonzero((sb == sa[k0]) & (np.abs(hb - ha[k0]) < 0.1)):
        t = ub[j] - ua[k0]
        d = ub[None, :, :] - (ua + t)[:, None, :]
        d -= np.rint(d)
        ok = (
            (np.linalg.norm(d @ basis, axis=-1) < 0.05)
            & (sa[:, None] == sb[None, :])
            & (np.abs(ha[:, None] - hb[None, :]) < 0.1)
        )
        if ok.any(axis=1).all():
            return t % 1.0
    return None


def _registry(
    bulk: Structure,
    termination: SlabCandidate,
    film_ref: SlabCandidate,
    substrate: SlabCandidate,
    vacuum: float,
) -> tuple[float, float] | None:
    """Shift that puts the film where the bulk's next layer would be (homo)."""
    n_sub = substrate.n_layers
    thick = layered_slab(bulk, termination, n_sub + 1, vacuum)
    groups = layers(thick.slab)
    sub_groups = layers(substrate.slab)
    o = _layer_offset(thick.slab, groups[0], substrate.slab, sub_groups[0])
    t = _layer_offset(
        film_ref.slab, range(len(film_ref.slab)), thick.slab, groups[n_sub]
    )
    if o is None or t is None:
        return None
    reg = (t + o) % 1.0
    return (float(reg[0]), float(reg[1]))


def _translated(slab: SlabCandidate, t: np.ndarray) -> SlabCandidate:
    moved = slab.slab.copy()
    moved.translate_sites(list(range(len(moved))), [t[0], t[1], 0.0], to_unit_cell=True)
    return replace(slab, slab=moved)


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


@dataclass
class InterfaceSet(MSONable):
    """Interface cells of one film/substrate pair: every n and shift, one match."""

    kind: str
    """``hetero``, ``homo`` or a caller's label."""
    match: LatticeMatch
    film_termination: SlabCandidate
    substrate_termination: SlabCandidate
    interfaces: list[Interface]
    """One cell per (film layers, shift), n-major order."""
    removed_atoms: int = 0
    """Atoms removed at the boundary: always 0 (the film is lifted instead)."""
    settings: dict = field(default_factory=dict)

    def for_layers(self, n: int) -> list[Interface]:
        """The cells with ``n`` film layers (one per shift)."""
        return [
            i for i in self.interfaces if i.interface_properties["n_film_layers"] == n
        ]

    def atom_counts(self) -> dict[int, int]:
        """Atoms per cell for each number of film layers."""
        return {
            i.interface_properties["n_film_layers"]: len(i) for i in self.interfaces
        }


def build_interfaces(
    film_bulk: Structure,
    substrate_bulk: Structure,
    film_miller: Sequence[int] = (0, 1, 0),
    substrate_miller: Sequence[int] = (1, 0, 0),
    *,
    film_layers: Sequence[int] = (1, 2, 3),
    substrate_layers: int = 2,
    fixed_layers: int = 2,
    vacuum: float = 15.0,
    shift_grid: Sequence[tuple[float, float]] | None = None,
    max_area: float = 400.0,
    max_strain: float = 0.03,
    max_length_tol: float = 0.03,
    max_angle_tol: float = 0.01,
    max_area_ratio_tol: float = 0.09,
    contact_scale: float = CONTACT_SCALE,
    min_gap: float = 0.0,
    film_termination: SlabCandidate | None = None,
    substrate_termination: SlabCandidate | None = None,
    registry: bool | None = None,
    kind: str = "",
    substrate_host: Structure | None = None,
) -> InterfaceSet:
    """Interface cells for n film layers on a ``substrate_layers``-layer substrate.

    With ``substrate_host`` (the undoped phase of a doped substrate),
    ``substrate_layers`` and ``fixed_layers`` count layers of the host, each rounded
    up to whole layers of the substrate (:func:`~lpsflow.structures.slabs.blocks_for`):
    every dopant arrangement then gets the same thickness.

    Terminations default to the first candidate of
    :func:`~lpsflow.structures.slabs.polyhedral_slabs` (pass the lowest-energy one if
    known). ``shift_grid`` defaults to :func:`shifts` (2, 2). ``registry`` adds the
    shift that continues the bulk stacking (default: when film and substrate are the
    same bulk and surface). The caller evaluates every shift and keeps the lowest.
    """
    film_bulk_t = film_termination or _default_slab(film_bulk, film_miller)
    sub_bulk_t = substrate_termination or _default_slab(
        substrate_bulk, substrate_miller
    )
    match = match_interface(
        film_bulk, film_miller, substrate_bulk, substrate_miller, max_area, max_strain,
        max_length_tol=max_length_tol, max_angle_tol=max_angle_tol,
        max_area_ratio_tol=max_area_ratio_tol, film_slab=film_bulk_t,
        substrate_slab=sub_bulk_t,
    )  # fmt: skip
    sub_blocks, fixed_blocks = substrate_layers, fixed_layers
    heights_a: dict[str, float] = {}
    if substrate_host is not None:
        heights_a = {
            "host": layer_height(
                substrate_host, polyhedral_slabs(substrate_host, substrate_miller)[0]
            ),
            "substrate": layer_height(substrate_bulk, sub_bulk_t),
        }
        h_host, h_sub = heights_a["host"], heights_a["substrate"]
        sub_blocks = blocks_for(substrate_layers, h_host, h_sub)
        fixed_blocks = min(sub_blocks, blocks_for(fixed_layers, h_host, h_sub))
    sub = layered_slab(substrate_bulk, sub_bulk_t, sub_blocks, vacuum)
    contacts = contact_distances(film_bulk, substrate_bulk, scale=contact_scale)
    grid = list(shift_grid) if shift_grid is not None else shifts(2, 2)
    homo = _same_surface(film_bulk, film_miller, substrate_bulk, substrate_miller)
    if registry is None:
        registry = homo
    if registry and not homo:
        raise StructureError("a registry shift exists for homo interfaces only")
    ref = layered_slab(film_bulk, film_bulk_t, 1, vacuum)
    extra: list[tuple[float, float]] = []
    if (
        registry
        and not match.film_flipped
        and match.film_vectors == match.substrate_vectors
        and (reg := _registry(film_bulk, film_bulk_t, ref, sub, vacuum)) is not None
    ):
        extra.append(reg)
    ms = int_matrix(
        np.asarray(match.substrate_vectors, float),
        np.asarray(sub.slab.scale_factor, float)[:2],
        "substrate",
    )
    to_iface = np.linalg.inv(ms)  # substrate-cell fractions -> interface fractions
    cells: list[Interface] = []
    for n in film_layers:
        film = layered_slab(film_bulk, film_bulk_t, n, vacuum)
        # put the layer that faces the substrate where the 1-layer slab has it, so a
        # shift means the same registry for every n
        facing = layers(film.slab)[-1 if match.film_flipped else 0]
        t = _layer_offset(film.slab, facing, ref.slab, range(len(ref.slab)))
        if t is not None:
            film = _translated(film, t)
        starts = [*extra, *grid] if t is not None else grid
        cells += stacks(
            film,
            sub,
            match,
            [tuple((np.asarray(sh) @ to_iface) % 1.0) for sh in starts],
            fixed_layers=fixed_blocks,
            vacuum=vacuum,
            contacts=contacts,
            min_gap=min_gap,
            properties=[
                {
                    "kind": kind,
                    "registry": t is not None and bool(extra) and k == 0,
                    "shift_substrate_cell": [float(x) for x in sh],
                    "shift_origin": "1-layer film" if t is not None else "slab",
                }
                for k, sh in enumerate(starts)
            ],
        )
    return InterfaceSet(
        kind=kind,
        match=match,
        film_termination=film_bulk_t,
        substrate_termination=sub_bulk_t,
        interfaces=cells,
        settings={
            "film_miller": list(film_miller),
            "substrate_miller": list(substrate_miller),
            "film_layers": list(film_layers),
            "substrate_layers": substrate_layers,
            "fixed_layers": fixed_layers,
            # the substrate's own (neutral-block) layers built and fixed, and the
            # layer heights (A) they were counted with (host layers: see above)
            "substrate_blocks": sub_blocks,
            "fixed_blocks": fixed_blocks,
            "layer_heights": heights_a,
            "vacuum": vacuum,
            "shifts": [list(s) for s in grid],
            "registry": bool(registry),
            "max_area": max_area,
            "max_strain": max_strain,
            "contact_scale": contact_scale,
        },
    )


def _same_surface(
    a: Structure, ma: Sequence[int], b: Structure, mb: Sequence[int]
) -> bool:
    return (
        tuple(ma) == tuple(mb)
        and a.composition == b.composition
        and np.allclose(a.lattice.matrix, b.lattice.matrix, atol=1e-6)
        and np.allclose(a.frac_coords, b.frac_coords, atol=1e-6)
    )


# ----------------------------------------------------------------- study settings
@dataclass(frozen=True)
class InterfaceSettings:
    """Sizes and matching tolerances of one interface series."""

    substrate_layers: int
    fixed_layers: int
    film_layers: tuple[int, ...] = (1, 2, 3)
    vacuum: float = 15.0
    shift_grid: tuple[int, int] = (2, 2)
    max_area: float = 400.0
    max_strain: float = 0.03
    max_length_tol: float = 0.03
    max_angle_tol: float = 0.01
    max_area_ratio_tol: float = 0.09


#: Thin cells for the quick campaign. Li7P3S11(010) (a x c, oblique) has no small
#: low-strain coincidence with the rectangular core(100): the smallest cell, 2 film
#: on 6 substrate cells (303 A^2), carries 6.3% von Mises strain.
QUICK: dict[str, InterfaceSettings] = {
    "hetero": InterfaceSettings(
        substrate_layers=1, fixed_layers=1, vacuum=12.0, max_area=320.0,
        max_strain=0.07, max_length_tol=0.08, max_angle_tol=0.08,
    ),
    "homo": InterfaceSettings(substrate_layers=2, fixed_layers=1, vacuum=12.0),
}  # fmt: skip
#: Study-size cells: <= 3% strain (707 A^2 hetero), the study's fixed layers (2
#: hetero, 1 homo).
STUDY: dict[str, InterfaceSettings] = {
    "hetero": InterfaceSettings(
        substrate_layers=4, fixed_layers=2, shift_grid=(3, 3), max_area=750.0,
        max_strain=0.03, max_length_tol=0.04, max_angle_tol=0.04,
    ),
    "homo": InterfaceSettings(
        substrate_layers=3, fixed_layers=1, shift_grid=(3, 3), max_area=400.0
    ),
}  # fmt: skip


def nucleation_interfaces(
    core: Structure,
    li7p3s11: Structure,
    settings: dict[str, InterfaceSettings] | None = None,
    core_miller: Sequence[int] = (1, 0, 0),
    film_miller: Sequence[int] = (0, 1, 0),
    kinds: Sequence[str] = ("hetero", "homo"),
    core_host: Structure | None = None,
) -> dict[str, InterfaceSet]:
    """Li7P3S11(``film_miller``) on the core (hetero) and on itself (homo).

    ``core_host``: the undoped core, whose layers the hetero substrate counts (as a
    campaign does; see :func:`build_interfaces`).
    """
    settings = settings or QUICK
    out: dict[str, InterfaceSet] = {}
    for kind in kinds:
        st = settings[kind]
        substrate, miller = (
            (core, core_miller) if kind == "hetero" else (li7p3s11, film_miller)
        )
        out[kind] = build_interfaces(
            li7p3s11, substrate, film_miller, miller,
            film_layers=st.film_layers, substrate_layers=st.substrate_layers,
            fixed_layers=st.fixed_layers, vacuum=st.vacuum,
            shift_grid=shifts(*st.shift_grid), max_area=st.max_area,
            max_strain=st.max_strain, max_length_tol=st.max_length_tol,
            max_angle_tol=st.max_angle_tol, max_area_ratio_tol=st.max_area_ratio_tol,
            kind=kind, substrate_host=core_host if kind == "hetero" else None,
        )  # fmt: skip
    return out


# ------------------------------------------------------------------ energies
def strained_references(interface: Structure) -> tuple[Structure, Structure]:
    """(film, substrate) cut from ``interface``: same cell, same fixed atoms.

    These are the E_film and E_substrate references of :func:`binding_energy`: each
    in the interface's strained in-plane cell and vacuum. Relax them (cell fixed)
    exactly as the interface is relaxed. Works on any structure that carries the
    ``interface_label`` site property (it survives ``AseAtomsAdaptor`` round trips,
    so relaxed outputs qualify).
    """
    labels = interface.site_properties["interface_label"]
    parts = []
    for tag in ("film", "substrate"):
        idx = [i for i, t in enumerate(labels) if t == tag]
        if not idx:
            raise StructureError(f"interface has no {tag} atoms")
        parts.append(Structure.from_sites([interface[i] for i in idx]))
    return parts[0], parts[1]


def relaxed_references(
    screened: Structure, relaxed: Structure
) -> tuple[Structure, Structure]:
    """(film, substrate) cut from the relaxed interface, labelled as ``screened``.

    ``relaxed`` is the fixed-cell relaxation of ``screened`` (the cell the screen
    picked, which carries ``interface_label``, ``layer`` and ``selective_dynamics``).
    Its atoms are paired with the screened ones (:func:`pair_sites`), so the relaxed
    positions get the screened cell's labels and fixed atoms whatever the backend
    kept. Raises :class:`StructureError` if the cells, compositions or pairing
    disagree.
    """
    if len(relaxed) != len(screened) or relaxed.composition != screened.composition:
        raise StructureError(
            f"relaxed interface ({relaxed.composition.formula}) is not the screened "
            f"cell ({screened.composition.formula})"
        )
    if not np.allclose(
        relaxed.lattice.matrix, screened.lattice.matrix, atol=10 * LATTICE_TOL
    ):
        raise StructureError("relaxed interface has another cell than the screened one")
    order = pair_sites(screened, relaxed)
    cell = Structure(
        screened.lattice,
        screened.species,
        relaxed.frac_coords[order],
        site_properties=screened.site_properties,
    )
    return strained_references(cell)


def pair_sites(a: Structure, b: Structure) -> np.ndarray:
    """``order`` such that ``b[order[i]]`` is the atom that was ``a[i]``.

    ``b`` is ``a`` after a fixed-cell relaxation, in the same order (the MLIP, and
    atomate2's VASP jobs) or species-sorted as pymatgen's input sets may write the
    POSCAR. Either order is taken if its atoms moved in total no more than
    :data:`PAIRING_SLACK` times the least total move any pairing of the elements
    allows (a wrong order moves atoms by whole bond lengths; a film sliding
    2-5 A onto the substrate, as the quick hetero films do, is fine). Any other order
    gets that least-move pairing, only trusted when no atom moved more than
    :data:`MAX_RELAX_MOVE` (else :class:`StructureError`). Written here because
    pymatgen's ``StructureMatcher`` maps sites within a fraction of a bond length,
    not across relaxation moves of several A.
    """
    from scipy.optimize import linear_sum_assignment

    sym_a = np.array([s.specie.symbol for s in a])
    sym_b = np.array([s.specie.symbol for s in b])

    def moves(ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        d = b.frac_coords[ib] - a.frac_coords[ia]
        d -= np.round(d)  # minimum image for moves below half the thinnest width
        return np.linalg.norm(d @ a.lattice.matrix, axis=-1)

    best = np.empty(len(a), dtype=int)
    least = np.empty(len(a))
    for el in sorted(set(sym_a)):
        ia, ib = np.flatnonzero(sym_a == el), np.flatnonzero(sym_b == el)
        cost = moves(ia[:, None], ib[None, :])
        rows, cols = linear_sum_assignment(cost)
        best[ia[rows]], least[ia[rows]] = ib[cols], cost[rows, cols]
    for order in (np.arange(len(a)), np.argsort(_sort_permutation(a))):
        if (
            np.array_equal(sym_b[order], sym_a)
            and moves(np.arange(len(a)), order).sum()
            <= PAIRING_SLACK * least.sum() + 1e-6
        ):
            return order
    if least.max() > MAX_RELAX_MOVE:
        raise StructureError(
            f"relaxed interface cannot be paired with the screened cell: its atoms "
            f"are in another order and one moved {least.max():.2f} A (more than "
            f"{MAX_RELAX_MOVE} A)"
        )
    return best


def _sort_permutation(structure: Structure) -> np.ndarray:
    """Indices of ``structure`` in the order of ``get_sorted_structure()``."""
    return np.array(sorted(range(len(structure)), key=structure.__getitem__))


def binding_energy(
    e_interface: float, e_film: float, e_substrate: float, area: float
) -> float:
    """E_bind = (E_interface - E_film - E_substrate) / A (eV/A^2; < 0 binds).

    The references must be in the interface's strained in-plane cell (see
    :func:`strained_references`; :func:`consistent_binding_energy` checks it).
    """
    if area <= 0:
        raise StructureError(f"interface area must be positive, not {area}")
    return (e_interface - e_film - e_substrate) / area


def consistent_binding_energy(
    interface: Structure,
    e_interface: float,
    film: Structure,
    e_film: float,
    substrate: Structure,
    e_substrate: float,
) -> float:
    """:func:`binding_energy` after checking the references against the interface.

    Film and substrate must have the interface's in-plane lattice (within
    :data:`LATTICE_TOL`) and together its composition; the fixed-atom count must
    match too. Raises :class:`StructureError` otherwise (e.g. an unstrained film).
    """
    ref = in_plane_vectors(interface)
    for name, s in (("film", film), ("substrate", substrate)):
        if not np.allclose(in_plane_vectors(s), ref, atol=LATTICE_TOL):
            raise StructureError(
                f"{name} reference is not in the interface's in-plane cell "
                f"({np.round(in_plane_vectors(s), 3).tolist()} vs "
                f"{np.round(ref, 3).tolist()}); "
                "use strained_references()"
            )
    if film.composition + substrate.composition != interface.composition:
        raise StructureError("film + substrate composition differs from the interface")
    n_fixed = len(fixed_indices(film)) + len(fixed_indices(substrate))
    if n_fixed != len(fixed_indices(interface)):
        raise StructureError("references and interface fix different numbers of atoms")
    return binding_energy(e_interface, e_film, e_substrate, in_plane_area(interface))


def interface_summary(iset: InterfaceSet) -> dict[str, object]:
    """Area, strain and atom counts of an :class:`InterfaceSet` (for results)."""
    counts = Counter(i.interface_properties["n_film_layers"] for i in iset.interfaces)
    return {
        "kind": iset.kind,
        "area": iset.match.area,
        "von_mises_strain": iset.match.von_mises_strain,
        "film_vectors": iset.match.film_vectors,
        "substrate_vectors": iset.match.substrate_vectors,
        "atoms": iset.atom_counts(),
        "cells_per_n": dict(counts),
        "removed_atoms": iset.removed_atoms,
    }
