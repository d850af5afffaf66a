"""Lattice matching of a film plane on a substrate plane (ZSL), with strain.

:func:`match_interface` finds the smallest coincidence supercell within the area and
strain limits; the in-plane helpers are shared by interfaces and grain boundaries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from monty.json import MSONable
from pymatgen.analysis.elasticity.strain import Deformation
from pymatgen.analysis.interfaces.zsl import ZSLGenerator, ZSLMatch
from pymatgen.core import Structure

from lpsflow.errors import StructureError
from lpsflow.structures.slabs import SlabCandidate, polyhedral_slabs


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


def default_slab(bulk: Structure, miller: Sequence[int]) -> SlabCandidate:
    """The first checked termination of ``bulk``'s ``miller`` plane."""
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
    film_slab = film_slab or default_slab(film_bulk, film_miller)
    substrate_slab = substrate_slab or default_slab(substrate_bulk, substrate_miller)
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
