"""Sites of a host supercell under its symmetry.

The space-group operations as site permutations (lattice translations included),
the interstitial Li positions (Delaunay centres at Li-S bond distance, completed to
full orbits) and the empty LiS6 sites (octahedral voids of the S sublattice).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay

from lpsflow.errors import StructureError

#: Nearest-S distance window (A) of an interstitial Li site (a Li-S bond length).
INTERSTITIAL_S_RANGE: tuple[float, float] = (2.3, 2.8)


#: Smallest distance (A) from an interstitial site to any Li, and between extra Li.
INTERSTITIAL_MIN_LI = 2.2


#: Smallest distance (A) from an interstitial site to a high-valent cation (P, M).
INTERSTITIAL_MIN_CATION = 2.8


#: Largest ratio of the longest to the shortest of the six S of an S6 site (the 4b
#: LiS6 site of beta-Li3PS4, 4 + 2 coordinated: 1.28).
EMPTY_SITE_SPREAD = 1.35


#: Smallest ratio of the seventh-nearest S to the sixth: six S form a shell.
EMPTY_SITE_GAP = 1.2


#: Smallest S-site-S angle (deg) between each S of an S6 site and its trans S.
EMPTY_SITE_TRANS_ANGLE = 140.0


#: Smallest distance (A) from an empty site to an occupied Li (closer: the same site).
EMPTY_SITE_MIN_LI = 1.5


#: Li closer than this (A) to an empty site leave when a dopant enters it.
EMPTY_SITE_BLOCK = 2.5


#: Radius (A) searched for the S shell of a site.
_S_SEARCH = 5.0


#: Tolerance (A) for mapping sites onto each other under a symmetry operation.
MATCH_TOL = 0.1


# ---------------------------------------------------------------------------- symmetry
def symmetry_operations(
    structure: Structure, symprec: float = 0.01
) -> tuple[np.ndarray, np.ndarray]:
    """Return the space-group operations of ``structure``, translations included.

    Returns rotations (n, 3, 3) and translations (n, 3) in the structure's own
    fractional basis. Pure lattice translations of a supercell are added if spglib
    omits them; the group order is checked to equal point-group order times the
    number of primitive cells.
    """
    sga = SpacegroupAnalyzer(structure, symprec=symprec)
    ops = sga.get_symmetry_operations(cartesian=False)
    rot = np.array([np.rint(op.rotation_matrix) for op in ops], dtype=int)
    trans = np.array([op.translation_vector for op in ops], dtype=float) % 1.0
    pure = _pure_translations(structure)
    rot = np.repeat(rot, len(pure), axis=0)
    trans = (np.repeat(trans, len(pure), axis=0) + np.tile(pure, (len(ops), 1))) % 1.0
    key = np.round(trans, 4) % 1.0
    _, first = np.unique(
        np.hstack([rot.reshape(len(rot), 9), key]), axis=0, return_index=True
    )
    first.sort()
    rot, trans = rot[first], trans[first]
    n_point = len(sga.get_point_group_operations())
    if len(rot) != n_point * len(pure):
        raise StructureError(
            f"symmetry group of order {len(rot)} is not point group ({n_point}) x "
            f"{len(pure)} lattice translations; try another symprec"
        )
    return rot, trans


def _pure_translations(structure: Structure) -> np.ndarray:
    """Return fractional translations that map the structure onto itself (incl. 0)."""
    symbols = np.array([s.specie.symbol for s in structure])
    frac = structure.frac_coords
    labels, counts = np.unique(symbols, return_counts=True)
    rare = labels[np.argmin(counts)]
    i0 = int(np.flatnonzero(symbols == rare)[0])
    found = []
    for j in np.flatnonzero(symbols == rare):
        t = (frac[j] - frac[i0]) % 1.0
        if (
            match_sites(frac + t, frac, symbols, symbols, structure.lattice.matrix)
            is not None
        ):
            found.append(t)
    return np.array(found)


def match_sites(
    moved: np.ndarray,
    target: np.ndarray,
    moved_labels: np.ndarray,
    target_labels: np.ndarray,
    matrix: np.ndarray,
    tol: float = MATCH_TOL,
) -> np.ndarray | None:
    """Map each moved point to its ``target`` index; None if that is no bijection."""
    diff = moved[:, None, :] - target[None, :, :]
    diff -= np.rint(diff)
    dist = np.linalg.norm(diff @ matrix, axis=2)
    dist[moved_labels[:, None] != target_labels[None, :]] = np.inf
    idx = dist.argmin(axis=1)
    if dist[np.arange(len(moved)), idx].max() > tol:
        return None
    if len(np.unique(idx)) != len(idx):
        return None
    return idx


def site_permutations(
    frac: np.ndarray,
    labels: Sequence[str],
    rotations: np.ndarray,
    translations: np.ndarray,
    matrix: np.ndarray,
) -> np.ndarray:
    """Return ``perms[g, i]``: index of the site that operation g moves site i onto."""
    labels_arr = np.asarray(labels)
    perms = np.empty((len(rotations), len(frac)), dtype=np.int64)
    for g, (rot, t) in enumerate(zip(rotations, translations, strict=True)):
        idx = match_sites(frac @ rot.T + t, frac, labels_arr, labels_arr, matrix)
        if idx is None:
            raise StructureError(
                f"symmetry operation {g} does not map sites onto sites"
            )
        perms[g] = idx
    return perms


# ------------------------------------------------------------------------ interstitials
def interstitial_sites(host_supercell: Structure, symprec: float = 0.01) -> np.ndarray:
    """Return fractional coordinates of candidate interstitial Li sites (full orbits).

    Candidates are the centres of the empty spheres of the S sublattice (circumcentres
    of its Delaunay tetrahedra, merged within 0.5 A) whose radius, the nearest Li-S
    distance, lies in :data:`INTERSTITIAL_S_RANGE`, at least
    :data:`INTERSTITIAL_MIN_LI` from every Li and :data:`INTERSTITIAL_MIN_CATION`
    from every other cation. They are symmetrised and completed to orbits of the
    supercell's space group. In beta-Li3PS4 these are three 4c orbits on the mirror
    planes (one of them the partially occupied Li3 site of the disordered structure).
    """
    rot, trans = symmetry_operations(host_supercell, symprec)
    return candidate_interstitials(host_supercell, rot, trans)


def candidate_interstitials(
    host: Structure, rot: np.ndarray, trans: np.ndarray
) -> np.ndarray:
    """Interstitial Li candidates of a host, completed to full symmetry orbits."""
    frac, d_s, d_li, d_cat = _void_distances(host)
    lo, hi = INTERSTITIAL_S_RANGE
    good = (
        (d_s >= lo)
        & (d_s <= hi)
        & (d_li >= INTERSTITIAL_MIN_LI)
        & (d_cat >= INTERSTITIAL_MIN_CATION)
    )
    return _complete_orbits(frac[good], rot, trans, host.lattice.matrix)


def empty_s6_sites(host_supercell: Structure, symprec: float = 0.01) -> np.ndarray:
    """Return fractional coordinates of the empty LiS6 sites of a host (full orbits).

    An empty S6 site is a void of the S sublattice (:func:`candidate_empty_sites`)
    whose six nearest S form an octahedral shell (:func:`is_s6_octahedron`: the
    longest at most :data:`EMPTY_SITE_SPREAD` times the shortest, the seventh
    :data:`EMPTY_SITE_GAP` times further out, each S with a trans partner at
    :data:`EMPTY_SITE_TRANS_ANGLE` or more; scale-free, so a strained or relaxed
    host keeps its sites), at least :data:`INTERSTITIAL_MIN_CATION` from P and any
    other high-valent cation (no face shared with a PS4 tetrahedron) and not an
    occupied Li site. In the bundled beta-Li3PS4: two 4c orbits on the mirror
    planes, two sites per PS4, one with six S at 2.90-2.91 A (two 8d Li at 2.14 A,
    which leave with the dopant, :func:`blocked_li`), one 4 + 2 coordinated like
    the occupied 4b LiS6 site (four S at 2.64 A, two at 3.30 A).
    """
    rot, trans = symmetry_operations(host_supercell, symprec)
    return candidate_empty_sites(host_supercell, rot, trans)


def candidate_empty_sites(
    host: Structure, rot: np.ndarray, trans: np.ndarray
) -> np.ndarray:
    """Empty S6-octahedral sites of a host (:func:`empty_s6_sites`), full orbits."""
    frac, _, d_li, d_cat = _void_distances(host)
    keep = (d_li >= EMPTY_SITE_MIN_LI) & (d_cat >= INTERSTITIAL_MIN_CATION)
    good = [i for i in np.flatnonzero(keep) if is_s6_octahedron(host, frac[i])]
    return _complete_orbits(frac[good], rot, trans, host.lattice.matrix)


def s_shell(host: Structure, point: np.ndarray, n: int = 7) -> np.ndarray:
    """Vectors (A) from ``point`` (fractional) to its ``n`` nearest S, nearest first.

    Fewer if fewer lie within 5 A.
    """
    lattice = host.lattice
    s_frac = host.frac_coords[[site.specie.symbol == "S" for site in host]]
    centre = lattice.get_cartesian_coords(point)
    found = lattice.get_points_in_sphere(s_frac, centre, _S_SEARCH)
    if not found:
        return np.zeros((0, 3))
    vec = lattice.get_cartesian_coords(np.array([f[0] for f in found])) - centre
    return vec[np.argsort(np.linalg.norm(vec, axis=1), kind="stable")][:n]


def is_s6_octahedron(
    host: Structure,
    point: np.ndarray,
    spread: float = EMPTY_SITE_SPREAD,
    gap: float = EMPTY_SITE_GAP,
    angle: float = EMPTY_SITE_TRANS_ANGLE,
) -> bool:
    """Whether the six nearest S of ``point`` form an octahedral shell."""
    vec = s_shell(host, point)
    if len(vec) < 6:
        return False
    d = np.linalg.norm(vec, axis=1)
    if d[5] > spread * d[0] or (len(d) > 6 and d[6] < gap * d[5]):
        return False
    unit = vec[:6] / d[:6, None]
    cos = unit @ unit.T
    np.fill_diagonal(cos, 1.0)
    return bool(np.all(cos.min(axis=1) <= np.cos(np.radians(angle))))


def blocked_li(host: Structure, sites: np.ndarray) -> list[np.ndarray]:
    """Host indices of the Li within :data:`EMPTY_SITE_BLOCK` of each site."""
    li = np.flatnonzero([site.specie.symbol == "Li" for site in host])
    if len(sites) == 0 or len(li) == 0:
        return [np.zeros(0, dtype=np.int64) for _ in sites]
    d = host.lattice.get_all_distances(sites, host.frac_coords[li])
    return [li[row < EMPTY_SITE_BLOCK] for row in d]


def dopant_coordination(structure: Structure) -> list[int]:
    """S neighbours of each cation other than Li and P (within 1.25x its nearest S)."""
    out = []
    for i, site in enumerate(structure):
        if site.specie.symbol in ("Li", "P", "S"):
            continue
        d = np.linalg.norm(s_shell(structure, structure.frac_coords[i], 12), axis=1)
        out.append(int(np.sum(d <= 1.25 * d[0])) if len(d) else 0)
    return out


def _void_distances(
    host: Structure,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The voids of :func:`_voids` and each one's nearest S, Li and other cation."""
    frac, dist, symbols = _voids(host)
    nearest = [
        dist[:, mask].min(axis=1, initial=np.inf)
        for mask in (
            symbols == "S",
            symbols == "Li",
            (symbols != "S") & (symbols != "Li"),
        )
    ]
    return frac, *nearest


def _voids(host: Structure) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres of the empty spheres of the S sublattice, their distances to the host.

    The circumcentres of the Delaunay tetrahedra of the S sites (and their periodic
    images within ~6 A), merged within 0.5 A: an octahedral void is split into
    tetrahedra whose circumcentres coincide. Returns (fractional coordinates,
    distance matrix void x host site, host symbols).
    """
    lattice = host.lattice
    symbols = np.array([s.specie.symbol for s in host])
    s_frac = host.frac_coords[symbols == "S"]
    # periodic images within ~6 A of the cell
    widths = lattice.volume / np.linalg.norm(
        np.cross(lattice.matrix[[1, 2, 0]], lattice.matrix[[2, 0, 1]]), axis=1
    )
    pad = np.minimum(6.0 / widths, 1.0)
    shifts = np.array(list(itertools.product((-1, 0, 1), repeat=3)))
    images = (s_frac[None] + shifts[:, None]).reshape(-1, 3)
    images = images[np.all((images > -pad) & (images < 1 + pad), axis=1)]
    pts = lattice.get_cartesian_coords(images)
    tets = pts[Delaunay(pts).simplices]
    edges = tets[:, 1:] - tets[:, :1]
    ok = np.abs(np.linalg.det(edges)) > 1e-6
    edges, origin = edges[ok], tets[ok, 0]
    rhs = 0.5 * np.sum(edges**2, axis=2)
    centres = np.linalg.solve(edges, rhs[..., None])[..., 0] + origin
    frac = lattice.get_fractional_coords(centres)
    inside = np.all((frac >= -1e-9) & (frac < 1 - 1e-9), axis=1)
    frac = _merge(frac[inside] % 1.0, lattice.matrix, 0.5)
    if len(frac) == 0:
        return np.zeros((0, 3)), np.zeros((0, len(host))), symbols
    return frac, lattice.get_all_distances(frac, host.frac_coords), symbols


def _merge(frac: np.ndarray, matrix: np.ndarray, tol: float) -> np.ndarray:
    """Replace clusters of points closer than ``tol`` (A) by their periodic mean."""
    if len(frac) == 0:
        return frac
    diff = frac[:, None] - frac[None]
    diff -= np.rint(diff)
    close = np.linalg.norm(diff @ matrix, axis=2) < tol
    n_comp, label = connected_components(coo_matrix(close), directed=False)
    out = np.empty((n_comp, 3))
    for c in range(n_comp):
        members = np.flatnonzero(label == c)
        ref = frac[members[0]]
        d = frac[members] - ref
        d -= np.rint(d)
        out[c] = (ref + d.mean(axis=0)) % 1.0
    return out


def _complete_orbits(
    frac: np.ndarray, rot: np.ndarray, trans: np.ndarray, matrix: np.ndarray
) -> np.ndarray:
    """Symmetrise points and return the union of their orbits (sorted, no repeats)."""
    out: list[np.ndarray] = []
    for p in frac:
        if out and nearest_distance(p, np.vstack(out), matrix) < 0.5:
            continue
        images = p @ rot.transpose(0, 2, 1) + trans
        d = images - p
        d -= np.rint(d)
        stab = np.linalg.norm(d @ matrix, axis=1) < 0.5
        p_sym = (p + d[stab].mean(axis=0)) % 1.0
        orbit = _merge((p_sym @ rot.transpose(0, 2, 1) + trans) % 1.0, matrix, 1e-3)
        out.append(orbit)
    if not out:
        return np.zeros((0, 3))
    pts = np.vstack(out)
    pts[pts > 1 - 1e-8] = 0.0
    return pts[np.lexsort(pts.T[::-1])]


def nearest_distance(p: np.ndarray, pts: np.ndarray, matrix: np.ndarray) -> float:
    """Shortest minimum-image distance (A) from ``p`` to the points ``pts``."""
    d = pts - p
    d -= np.rint(d)
    return float(np.linalg.norm(d @ matrix, axis=1).min())
