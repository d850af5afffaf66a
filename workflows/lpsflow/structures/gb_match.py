"""Coincidence cells of two grains for a CSL grain boundary.

:func:`gb_match` orients the boundary planes, applies the twist (or the study's
symmetry-distinct misorientations) and finds the smallest coincidence cell within
the area and strain limits; it says which limits would find one when none does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from monty.json import MSONable
from pymatgen.analysis.interfaces.zsl import ZSLGenerator
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
from scipy.linalg import polar
from scipy.spatial.transform import Rotation

from lpsflow.errors import StructureError
from lpsflow.structures.lattice_match import (
    LatticeMatch,
    in_plane_vectors,
    int_matrix,
    lattice_strain,
)
from lpsflow.structures.slab_geometry import in_plane_area
from lpsflow.structures.slabs import (
    SlabCandidate,
    polyhedral_slabs,
)

#: Largest difference (degrees) between a misorientation and a bulk symmetry
#: rotation for the two to count as the same (no boundary).
SYMMETRY_TOL_DEG = 2.0


#: The same with a ``parent`` symmetry: a relaxed doped cell is a few degrees off
#: its undoped host's axes.
PARENT_SYMMETRY_TOL_DEG = 5.0


# ------------------------------------------------------------------ matching
@dataclass
class GBMatch(MSONable):
    """A coincidence cell of grain B on grain A and the misorientation it implies."""

    match: LatticeMatch
    """The cell as a film (grain B) / substrate (grain A) lattice match."""
    sigma: float
    """Coincidence area / grain A's primitive in-plane area (near-CSL index)."""
    twist_angle: float
    """Rotation of grain B about the normal (degrees, in (-180, 180])."""
    flipped: bool
    """Grain B is also turned over (180 degrees about an in-plane axis)."""
    misorientation_axis: list[float]
    """Unit rotation axis taking grain A's orientation to B's (cell Cartesian)."""
    misorientation_angle: float
    """Rotation angle about that axis (degrees, 0-180)."""
    misorientation_matrix: list[list[float]]
    """The rotation matrix (cell Cartesian; acts on column vectors)."""
    n_candidates: int
    """Coincidence candidates considered (ZSL matches and their 180-degree turns)."""

    def describe(self) -> str:
        """One line: Sigma, area, strain, misorientation."""
        ax = ", ".join(f"{x:.2f}" for x in self.misorientation_axis)
        return (
            f"Sigma {self.sigma:.2f}, {self.match.area:.1f} A^2, "
            f"von Mises strain {100 * self.match.von_mises_strain:.2f}%, "
            f"{self.misorientation_angle:.1f} deg about [{ax}]"
            f"{' (grain B turned over)' if self.flipped else ''}"
        )


def _slab_frame(first: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Rows e1 (along ``first``), e2 = e3 x e1, e3 (along ``normal``)."""
    e3 = normal / np.linalg.norm(normal)
    e1 = first - (first @ e3) * e3
    e1 /= np.linalg.norm(e1)
    return np.array([e1, np.cross(e3, e1), e3])


def _orientations(
    fv: np.ndarray, sv: np.ndarray, f_sl: np.ndarray, s_sl: np.ndarray, flipped: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Orientations of grain A and grain B in the cell.

    Each is the rotation from the grain's slab reference frame (x along its slab's
    first primitive in-plane vector, z along its normal) to cell Cartesian.

    Mirrors :func:`lpsflow.structures.interfaces.stack`: the cell has grain A's
    first superlattice vector along x and its normal along z; grain B's
    superlattice vectors go onto grain A's, its heights flipped if turned over.
    """
    n_a, n_b = np.cross(sv[0], sv[1]), np.cross(fv[0], fv[1])
    g_a = _slab_frame(s_sl[0], n_a)
    g_b = _slab_frame(f_sl[0], n_b)
    basis = (g_a @ s_sl.T).T[:, :2]
    f2 = (g_b @ f_sl.T).T[:, :2]
    t = basis.T @ np.linalg.inv(f2.T)
    lin = np.zeros((3, 3))
    lin[:2, :2] = t
    lin[2, 2] = -1.0 if flipped else 1.0
    rot_b, _ = polar(lin @ g_b)
    # refer both to their slab reference frames (x along the primitive a)
    return g_a @ _slab_frame(sv[0], n_a).T, rot_b @ _slab_frame(fv[0], n_b).T


def _point_group(
    bulk: Structure,
    slab: SlabCandidate,
    symprec: float,
    parent: Structure | None = None,
) -> np.ndarray:
    """Proper point-group rotations of ``bulk``'s anion framework, slab frame.

    The framework (the sites of the most electronegative element, S here) has
    the host's symmetry also in a doped cell, whose dopant and Li vacancies break
    it: a doped core turned by a rotation of its host is no boundary either. For
    beta-Li3PS4 (Pnma) and Li7P3S11 (P-1) the S framework has the bulk's space
    group. ``parent`` (same orientation as ``bulk``, e.g. the undoped host of a
    relaxed doped cell whose framework has relaxed away from the host's symmetry)
    gives the rotations instead.
    """
    sf = np.asarray(slab.slab.scale_factor, dtype=float)[:2]
    ab_bulk = sf @ bulk.lattice.matrix
    ab_slab = in_plane_vectors(slab.slab)
    b = np.array([*ab_bulk, np.cross(*ab_bulk)]).T
    s = np.array([*ab_slab, np.cross(*ab_slab)]).T
    q, _ = polar(s @ np.linalg.inv(b))
    ref = bulk if parent is None else parent
    anion = max(ref.composition.elements, key=lambda e: e.X)
    frame = Structure.from_sites([site for site in ref if site.specie == anion])
    ops = SpacegroupAnalyzer(frame, symprec=symprec).get_symmetry_operations(
        cartesian=True
    )
    rots = [op.rotation_matrix for op in ops if np.linalg.det(op.rotation_matrix) > 0]
    return np.array([q @ r @ q.T for r in rots])


def _angle_between(r1: np.ndarray, r2: np.ndarray) -> float:
    c = (np.trace(r1.T @ r2) - 1) / 2
    return math.degrees(math.acos(float(np.clip(c, -1.0, 1.0))))


def _wrap(angle: float) -> float:
    """Angle in (-180, 180]."""
    a = (angle + 180.0) % 360.0 - 180.0
    return 180.0 if math.isclose(a, -180.0, abs_tol=1e-9) else a


#: How much larger an area :func:`gb_match` tries, when nothing matched, to say in
#: its error what ``max_area`` would find a coincidence cell.
PROBE_AREA = 1.5


def gb_match(
    bulk_a: Structure,
    miller_a: Sequence[int],
    bulk_b: Structure | None = None,
    miller_b: Sequence[int] | None = None,
    *,
    twist: float | None = None,
    flip: bool | None = False,
    angle_tol: float = 1.0,
    max_area: float = 400.0,
    max_strain: float = 0.03,
    max_length_tol: float = 0.03,
    max_angle_tol: float = 0.01,
    max_area_ratio_tol: float = 0.09,
    slab_a: SlabCandidate | None = None,
    slab_b: SlabCandidate | None = None,
    symprec: float = 0.1,
    parent: Structure | None = None,
    probe: bool = True,
) -> GBMatch:
    """Coincidence cell and misorientation of grain B (``bulk_b``) on grain A.

    ``bulk_b``/``miller_b`` default to grain A's (a homo GB; then misorientations
    equal to a bulk point-group rotation are skipped). ``twist`` (degrees) asks for
    the candidate whose twist about the normal is within ``angle_tol`` of it
    (closest first, then smallest area); ``None`` takes the smallest area. ``flip``
    True/False requires grain B turned over or not; ``None`` allows both. The ZSL
    tolerances and ``max_area`` (A^2) bound the search, ``max_strain`` the von Mises
    strain. ``parent``: a structure in grain A's orientation whose symmetry
    decides what is no boundary (default grain A; for a doped core its undoped
    host). Raises ``StructureError("no CSL/coincidence within ...")``; with
    ``probe`` its message names the smallest match within :data:`PROBE_AREA` times
    ``max_area``, if there is one (relaxed cells can need a little more area than
    the starting structures the campaign was checked on).
    """
    homo = bulk_b is None
    bulk_b = bulk_a if bulk_b is None else bulk_b
    miller_b = tuple(miller_a) if miller_b is None else tuple(miller_b)
    slab_a = slab_a or polyhedral_slabs(bulk_a, miller_a)[0]
    if slab_b is None:
        slab_b = slab_a if homo else polyhedral_slabs(bulk_b, miller_b)[0]
    fv, sv = in_plane_vectors(slab_b.slab), in_plane_vectors(slab_a.slab)
    what = (
        f"{bulk_b.composition.reduced_formula}{tuple(miller_b)} on "
        f"{bulk_a.composition.reduced_formula}{tuple(miller_a)}"
    )
    zsl = ZSLGenerator(
        max_area_ratio_tol=max_area_ratio_tol,
        max_area=max_area,
        max_length_tol=max_length_tol,
        max_angle_tol=max_angle_tol,
        bidirectional=True,
    )
    sym_tol = SYMMETRY_TOL_DEG if parent is None else PARENT_SYMMETRY_TOL_DEG
    sym = _point_group(bulk_a, slab_a, symprec, parent) if homo else np.zeros((0, 3, 3))
    ref_a = _slab_frame(sv[0], np.cross(sv[0], sv[1]))
    prim = in_plane_area(slab_a.slab)
    rows: list[dict] = []
    seen: set[tuple] = set()
    for m in zsl(fv, sv, lowest=False):
        mf0 = int_matrix(np.array(m.film_sl_vectors), fv, what)
        ms = int_matrix(np.array(m.substrate_sl_vectors), sv, what)
        if np.linalg.det(ms) < 0:  # keep grain A's cell right-handed
            mf0, ms = np.diag([1, -1]) @ mf0, np.diag([1, -1]) @ ms
        for mf in (mf0, -mf0):  # every 2D lattice has the 180-degree turn
            key = (tuple(mf.ravel()), tuple(ms.ravel()))
            if key in seen:
                continue
            seen.add(key)
            f_sl, s_sl = mf @ fv, ms @ sv
            flipped = bool(np.linalg.det(mf) < 0)
            rot_a, rot_b = _orientations(fv, sv, f_sl, s_sl, flipped)
            mis = rot_b @ rot_a.T
            # trivial: the same crystal orientation (in grain A's slab frame)
            mis_slab = ref_a.T @ rot_a.T @ mis @ rot_a @ ref_a
            if any(_angle_between(mis_slab, r) < sym_tol for r in sym):
                continue
            vm, principal = lattice_strain(f_sl, s_sl)
            rows.append(
                {
                    "mf": mf, "ms": ms, "f_sl": f_sl, "s_sl": s_sl, "vm": vm,
                    "principal": principal, "flipped": flipped, "mis": mis,
                    "twist": _wrap(math.degrees(math.atan2(mis[1, 0], mis[0, 0]))),
                    "area": float(np.linalg.norm(np.cross(*s_sl))),
                }
            )  # fmt: skip
    ok = [r for r in rows if r["vm"] <= max_strain]
    if flip is not None:
        ok = [r for r in ok if r["flipped"] == flip]
    if twist is not None:
        ok = [r for r in ok if abs(_wrap(r["twist"] - twist)) <= angle_tol]
    if not ok:
        wanted = "" if twist is None else f", twist {twist:g} +- {angle_tol:g} deg"
        wanted += "" if flip is None else f", grain B {'' if flip else 'not '}flipped"
        hint = ""
        if probe:
            try:
                near = gb_match(
                    bulk_a, miller_a, None if homo else bulk_b, miller_b,
                    twist=twist, flip=flip, angle_tol=angle_tol,
                    max_area=PROBE_AREA * max_area, max_strain=max_strain,
                    max_length_tol=max_length_tol, max_angle_tol=max_angle_tol,
                    max_area_ratio_tol=max_area_ratio_tol, slab_a=slab_a,
                    slab_b=slab_b, symprec=symprec, parent=parent, probe=False,
                )  # fmt: skip
                needs = max(near.match.area, near.match.film_area)  # both sides
                hint = (
                    f"; the smallest match within {PROBE_AREA:g}x that area: "
                    f"{near.match.area:.0f} A^2 (Sigma {near.sigma:.0f}), which "
                    f"needs max_area >= {math.ceil(needs)}"
                )
            except StructureError:
                pass
        raise StructureError(
            f"no CSL/coincidence within area <= {max_area:g} A^2, von Mises strain "
            f"<= {100 * max_strain:g}%{wanted} for {what} (ZSL length tol "
            f"{max_length_tol:g}, angle tol {max_angle_tol:g}; {len(rows)} "
            f"non-trivial candidates before the strain/angle filters){hint}"
        )
    key = (
        (lambda r: (abs(_wrap(r["twist"] - twist)), round(r["area"], 3), r["vm"]))
        if twist is not None
        else (lambda r: (round(r["area"], 3), round(r["vm"], 9), r["flipped"]))
    )
    best = min(ok, key=key)
    sf_a = np.asarray(slab_a.slab.scale_factor)[:2]
    sf_b = np.asarray(slab_b.slab.scale_factor)[:2]
    f_sl, s_sl = best["f_sl"], best["s_sl"]
    lm = LatticeMatch(
        film_vectors=np.rint(best["mf"] @ sf_b).astype(int).tolist(),
        substrate_vectors=np.rint(best["ms"] @ sf_a).astype(int).tolist(),
        area=best["area"],
        film_area=float(np.linalg.norm(np.cross(*f_sl))),
        von_mises_strain=best["vm"],
        principal_strains=best["principal"],
        length_mismatch=[
            float(np.linalg.norm(s_sl[i]) / np.linalg.norm(f_sl[i]) - 1) for i in (0, 1)
        ],
        angle_mismatch=0.0,
        film_flipped=best["flipped"],
        n_candidates=len(rows),
        n_within_strain=len(ok),
    )
    rotvec = Rotation.from_matrix(best["mis"]).as_rotvec()
    angle = float(np.linalg.norm(rotvec))
    axis = rotvec / angle if angle > 1e-9 else np.array([0.0, 0.0, 1.0])
    return GBMatch(
        match=lm,
        sigma=best["area"] / prim,
        twist_angle=best["twist"],
        flipped=best["flipped"],
        misorientation_axis=[float(x) for x in axis],
        misorientation_angle=math.degrees(angle),
        misorientation_matrix=np.asarray(best["mis"]).tolist(),
        n_candidates=len(rows),
    )
