"""Doped beta-Li3PS4 supercells: cell choice, symmetry-distinct arrangements, Ewald.

The dopant count follows from the doping level x (dopants per PS4 formula unit) and
a diagonal supercell of the host (:func:`choose_supercell`). An :class:`Arrangement`
records which supercell sites the dopants occupy, which Li sites are vacant and where
extra (interstitial) Li go, by site index and fractional coordinate only, so the same
arrangement can be applied to the host before and after relaxation
(:meth:`Arrangement.apply`). :func:`enumerate_arrangements` lists the arrangements
that are distinct under the supercell's space group (lattice translations included),
each with its multiplicity; :func:`rank_by_ewald` sorts them by the point-charge
electrostatic energy with formal charges, evaluated as a quadratic form.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from monty.json import MSONable
from pymatgen.analysis.ewald import EwaldSummation
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay

from lpsflow.errors import CompositionError, StructureError
from lpsflow.structures.accelerant import Accelerant, Scheme

#: Formal charges of the host species.
HOST_CHARGES: dict[str, int] = {"Li": 1, "P": 5, "S": -2}
#: Nearest-S distance window (A) of an interstitial Li site (a Li-S bond length).
INTERSTITIAL_S_RANGE: tuple[float, float] = (2.3, 2.8)
#: Smallest distance (A) from an interstitial site to any Li, and between extra Li.
INTERSTITIAL_MIN_LI = 2.2
#: Smallest distance (A) from an interstitial site to a high-valent cation (P, M).
INTERSTITIAL_MIN_CATION = 2.8
#: Largest number of formula units :func:`choose_supercell` considers.
MAX_FORMULA_UNITS = 64
#: Tolerance (A) for mapping sites onto each other under a symmetry operation.
_MATCH_TOL = 0.1
#: Occupant labels used by the Ewald sampler (0: host species or empty candidate).
_DOPANT, _VACANCY, _EXTRA = 1, 2, 3

Cell = tuple[int, int, int]


# --------------------------------------------------------------------------- supercell
def choose_supercell(
    host: Structure,
    x: float,
    n_fu_host: int = 4,
    supercell: Cell | None = None,
) -> tuple[Cell, int]:
    """Pick the diagonal supercell and dopant count for doping level ``x``.

    ``x`` is dopants per formula unit, so ``n_M / (n_fu_host * na * nb * nc) == x``
    (to 1e-6). Without ``supercell`` the smallest commensurate cell (at most
    :data:`MAX_FORMULA_UNITS` formula units) is taken and, among its diagonal
    factorisations, the most compact one: longest shortest edge, then smallest spread
    of edge lengths. For beta-Li3PS4 and x = 1/16 that is (1, 2, 2) with one dopant.
    Raises :class:`CompositionError` if ``x`` fits no such cell or the given one.
    """
    if not 0 < x <= 1:
        raise CompositionError(f"doping level x={x:g} must lie in (0, 1]")
    if supercell is not None:
        cell = tuple(int(n) for n in supercell)
        if len(cell) != 3 or min(cell) < 1:
            raise CompositionError(f"supercell {supercell} is not three positive ints")
        n_fu = n_fu_host * math.prod(cell)
        n_m = _dopant_count(x, n_fu)
        if n_m is None:
            raise CompositionError(
                f"x={x:g} is not commensurate with the {'x'.join(map(str, cell))} "
                f"supercell ({n_fu} f.u.: x*n_fu = {x * n_fu:.4g} dopants)"
            )
        return (cell[0], cell[1], cell[2]), n_m
    max_cells = MAX_FORMULA_UNITS // n_fu_host
    for n_cells in range(1, max_cells + 1):
        n_m = _dopant_count(x, n_fu_host * n_cells)
        if n_m is None:
            continue
        abc = np.asarray(host.lattice.abc)

        def score(c: Cell, abc: np.ndarray = abc) -> tuple[float, float]:
            lengths = abc * np.asarray(c)
            return (-round(lengths.min(), 6), round(lengths.max() - lengths.min(), 6))

        return min(_factorisations(n_cells), key=score), n_m
    raise CompositionError(_incommensurate_message(x, n_fu_host, max_cells))


def _dopant_count(x: float, n_fu: int) -> int | None:
    n = x * n_fu
    n_int = round(n)
    return n_int if n_int >= 1 and abs(n - n_int) < 1e-6 else None


def _factorisations(n: int) -> list[Cell]:
    return [
        (a, b, n // (a * b))
        for a in range(1, n + 1)
        if n % a == 0
        for b in range(1, n // a + 1)
        if (n // a) % b == 0
    ]


def _incommensurate_message(x: float, n_fu_host: int, max_cells: int) -> str:
    best: dict[Fraction, int] = {}
    for n_cells in range(1, max_cells + 1):
        n_fu = n_fu_host * n_cells
        for k in range(1, n_fu + 1):
            best.setdefault(Fraction(k, n_fu), n_fu)
    nearest = sorted(best, key=lambda f: (abs(float(f) - x), best[f]))[:3]
    listing = ", ".join(f"{f} ({best[f]} f.u.)" for f in nearest)
    frac = Fraction(x).limit_denominator(10**6)
    if abs(float(frac) - x) < 1e-9:
        need = math.lcm(frac.denominator, n_fu_host)
        head = f"x={x:g} = {frac} needs {need} formula units"
    else:
        head = f"x={x:g} is not a ratio of small integers and needs a huge cell"
    return (
        f"{head} (cells are multiples of {n_fu_host} f.u., at most "
        f"{n_fu_host * max_cells}); nearest commensurate x: {listing}"
    )


# -------------------------------------------------------------------------- arrangement
@dataclass(frozen=True)
class Arrangement(MSONable):
    """Where the dopants, Li vacancies and extra Li sit in a host supercell."""

    dopant_sites: tuple[int, ...]
    """Supercell indices of the Li or P sites the dopants replace."""
    vacancy_sites: tuple[int, ...] = ()
    """Supercell indices of the Li sites left empty."""
    interstitials: tuple[tuple[float, float, float], ...] = ()
    """Fractional coordinates (supercell) of the extra Li."""
    multiplicity: int = dataclasses.field(default=1, compare=False)
    """Number of symmetry-equivalent arrangements this one stands for."""
    ewald_energy: float | None = dataclasses.field(default=None, compare=False)
    """Ewald energy (eV, whole supercell, formal charges), if ranked."""

    def apply(self, host_supercell: Structure, cation: str) -> Structure:
        """Build the doped structure from a host with the enumeration's site order.

        Only indices and fractional coordinates are used, so the host may be relaxed
        or strained. Dopants keep their host index (shifted down past removed
        vacancies); extra Li are appended at the end. Site properties are dropped.
        """
        n = len(host_supercell)
        for i in (*self.dopant_sites, *self.vacancy_sites):
            if not 0 <= i < n:
                raise StructureError(f"site index {i} outside the {n}-site host")
        symbols = [site.specie.symbol for site in host_supercell]
        for i in self.dopant_sites:
            if symbols[i] not in ("Li", "P"):
                raise StructureError(f"dopant site {i} is {symbols[i]}, not Li or P")
        for i in self.vacancy_sites:
            if symbols[i] != "Li":
                raise StructureError(f"vacancy site {i} is {symbols[i]}, not Li")
        for i in self.dopant_sites:
            symbols[i] = cation
        drop = set(self.vacancy_sites)
        keep = [i for i in range(n) if i not in drop]
        frac = host_supercell.frac_coords[keep]
        species = [symbols[i] for i in keep]
        if self.interstitials:
            frac = np.vstack([frac, np.asarray(self.interstitials, dtype=float)])
            species += ["Li"] * len(self.interstitials)
        return Structure(host_supercell.lattice, species, frac)

    def as_dict(self) -> dict[str, Any]:
        """Serialise to a JSON-compatible dict (MSONable)."""
        return {
            "@module": type(self).__module__,
            "@class": type(self).__name__,
            "dopant_sites": list(self.dopant_sites),
            "vacancy_sites": list(self.vacancy_sites),
            "interstitials": [list(c) for c in self.interstitials],
            "multiplicity": self.multiplicity,
            "ewald_energy": self.ewald_energy,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Arrangement:
        """Rebuild from :meth:`as_dict` output."""
        energy = d.get("ewald_energy")
        return cls(
            dopant_sites=tuple(int(i) for i in d["dopant_sites"]),
            vacancy_sites=tuple(int(i) for i in d.get("vacancy_sites", ())),
            interstitials=tuple(
                (float(a), float(b), float(c)) for a, b, c in d.get("interstitials", ())
            ),
            multiplicity=int(d.get("multiplicity", 1)),
            ewald_energy=None if energy is None else float(energy),
        )


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
            _match(frac + t, frac, symbols, symbols, structure.lattice.matrix)
            is not None
        ):
            found.append(t)
    return np.array(found)


def _match(
    moved: np.ndarray,
    target: np.ndarray,
    moved_labels: np.ndarray,
    target_labels: np.ndarray,
    matrix: np.ndarray,
    tol: float = _MATCH_TOL,
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
        idx = _match(frac @ rot.T + t, frac, labels_arr, labels_arr, matrix)
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
    return _interstitial_sites(host_supercell, rot, trans)


def _interstitial_sites(
    host: Structure, rot: np.ndarray, trans: np.ndarray
) -> np.ndarray:
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
        return np.zeros((0, 3))
    dist = lattice.get_all_distances(frac, host.frac_coords)
    d_s = dist[:, symbols == "S"].min(axis=1)
    d_li = dist[:, symbols == "Li"].min(axis=1, initial=np.inf)
    d_cat = dist[:, (symbols != "S") & (symbols != "Li")].min(axis=1, initial=np.inf)
    lo, hi = INTERSTITIAL_S_RANGE
    good = (
        (d_s >= lo)
        & (d_s <= hi)
        & (d_li >= INTERSTITIAL_MIN_LI)
        & (d_cat >= INTERSTITIAL_MIN_CATION)
    )
    return _complete_orbits(frac[good], rot, trans, lattice.matrix)


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
        if out and _nearest(p, np.vstack(out), matrix) < 0.5:
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


def _nearest(p: np.ndarray, pts: np.ndarray, matrix: np.ndarray) -> float:
    d = pts - p
    d -= np.rint(d)
    return float(np.linalg.norm(d @ matrix, axis=1).min())


# ---------------------------------------------------------------------- problem set-up
@dataclass
class _Problem:
    """Sites, symmetry and interstitial candidates of one doping problem."""

    host: Structure
    q: int
    scheme: Scheme
    n_dopants: int
    dopant_sites: np.ndarray
    li_sites: np.ndarray
    cand_frac: np.ndarray
    """Candidate interstitial sites; extended index = len(host) + row."""
    perms: np.ndarray
    """Permutations of host sites + candidates, (n_ops, n_host + n_cand)."""

    @property
    def n_vac(self) -> int:
        return self.n_dopants * self.scheme.n_vacancies

    @property
    def n_int(self) -> int:
        return self.n_dopants * self.scheme.n_interstitials

    @property
    def order(self) -> int:
        return len(self.perms)


def _problem(
    host: Structure,
    accelerant: Accelerant,
    scheme: Scheme,
    n_dopants: int,
    symprec: float,
) -> _Problem:
    symbols = np.array([s.specie.symbol for s in host])
    unknown = set(symbols) - set(HOST_CHARGES)
    if unknown:
        raise StructureError(f"host contains {sorted(unknown)}; expected Li, P and S")
    if scheme.name not in ("Li-site", "P-site"):
        raise CompositionError(f"unknown charge-compensation scheme '{scheme.name}'")
    li = np.flatnonzero(symbols == "Li")
    p = np.flatnonzero(symbols == "P")
    dopant_sites = li if scheme.name == "Li-site" else p
    n_vac = n_dopants * scheme.n_vacancies
    if n_dopants < 1 or n_dopants > len(dopant_sites):
        raise CompositionError(
            f"{n_dopants} dopants do not fit on {len(dopant_sites)} {scheme.name}s"
        )
    if n_vac > len(li) - (n_dopants if scheme.name == "Li-site" else 0):
        raise CompositionError(f"{n_vac} Li vacancies do not fit in the supercell")
    n_int = n_dopants * scheme.n_interstitials
    cand, perms = _host_symmetry(host, symbols, symprec, n_int > 0)
    if n_int > len(cand):
        raise CompositionError(
            f"{n_int} extra Li but only {len(cand)} interstitial sites found"
        )
    return _Problem(
        host, accelerant.oxidation_state, scheme, n_dopants, dopant_sites, li, cand,
        perms,
    )  # fmt: skip


#: Host symmetry (interstitial candidates, site permutations) and Ewald forms of
#: recent hosts: a campaign asks for the same few supercells once per accelerant,
#: scheme and x.
_SYMMETRY: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
_FORMS: dict[tuple, _EwaldForm] = {}
_CACHE_SIZE = 16


def _kept(cache: dict, key: tuple, build: Callable[[], Any], arrays: Callable) -> Any:
    """``cache[key]``, built (its ``arrays(value)`` made read-only) if missing.

    The oldest entry goes when the cache holds :data:`_CACHE_SIZE`.
    """
    if key not in cache:
        value = build()
        for a in arrays(value):
            a.flags.writeable = False
        if len(cache) >= _CACHE_SIZE:
            del cache[next(iter(cache))]
        cache[key] = value
    return cache[key]


def _host_key(host: Structure, symbols: np.ndarray) -> tuple:
    return (
        host.lattice.matrix.tobytes(),
        host.frac_coords.tobytes(),
        tuple(symbols.tolist()),
    )


def _host_symmetry(
    host: Structure, symbols: np.ndarray, symprec: float, interstitials: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Interstitial candidates (if asked for) and site permutations of a host.

    Computed once per host, ``symprec`` and ``interstitials`` and kept (read-only)
    for the next doping problem on the same host.
    """

    def build() -> tuple[np.ndarray, np.ndarray]:
        rot, trans = symmetry_operations(host, symprec)
        cand = (
            _interstitial_sites(host, rot, trans) if interstitials else np.zeros((0, 3))
        )
        frac = np.vstack([host.frac_coords % 1.0, cand])
        labels = [*symbols, *(["X"] * len(cand))]
        return cand, site_permutations(frac, labels, rot, trans, host.lattice.matrix)

    key = (*_host_key(host, symbols), symprec, interstitials)
    return _kept(_SYMMETRY, key, build, lambda v: v)


def _interstitial_combos(pb: _Problem) -> np.ndarray:
    """List allowed extra-Li sets by extended index (none closer than the Li limit)."""
    n_host, k = len(pb.host), pb.n_int
    if k == 0:
        return np.zeros((1, 0), dtype=np.int64)
    combos = np.array(list(itertools.combinations(range(len(pb.cand_frac)), k)))
    if k > 1:
        close = _close_pairs(pb)
        bad = np.zeros(len(combos), dtype=bool)
        for a, b in itertools.combinations(range(k), 2):
            bad |= close[combos[:, a], combos[:, b]]
        combos = combos[~bad]
    return combos.astype(np.int64) + n_host


def _close_pairs(pb: _Problem) -> np.ndarray:
    d = pb.host.lattice.get_all_distances(pb.cand_frac, pb.cand_frac)
    close = d < INTERSTITIAL_MIN_LI
    np.fill_diagonal(close, False)
    return close


def raw_arrangement_count(
    host_supercell: Structure,
    accelerant: Accelerant,
    scheme: Scheme,
    n_dopants: int,
    symprec: float = 0.01,
) -> int:
    """Count the arrangements before symmetry reduction.

    Li-site: C(n_Li, n_M) * C(n_Li - n_M, n_vac). P-site: C(n_P, n_M) times the number
    of sets of extra-Li sites no two of which are closer than
    :data:`INTERSTITIAL_MIN_LI` (counted by enumeration for more than one extra Li).
    """
    pb = _problem(host_supercell, accelerant, scheme, n_dopants, symprec)
    n = math.comb(len(pb.dopant_sites), pb.n_dopants)
    if pb.scheme.name == "Li-site":
        n *= math.comb(len(pb.li_sites) - pb.n_dopants, pb.n_vac)
    return n * len(_interstitial_combos(pb))


# ------------------------------------------------------------------ canonicalisation
def _lex_less(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Compare rows of equal-shape 2-D int arrays lexicographically: a < b."""
    if a.shape[1] == 0:
        return np.zeros(len(a), dtype=bool)
    diff = a != b
    first = diff.argmax(axis=1)
    rows = np.arange(len(a))
    return diff.any(axis=1) & (a[rows, first] < b[rows, first])


def _image(cfg: np.ndarray, perm: np.ndarray, parts: Sequence[int]) -> np.ndarray:
    """Apply a site permutation to configurations and sort each part of the row."""
    img = perm[cfg]
    start = 0
    for width in parts:
        img[:, start : start + width] = np.sort(img[:, start : start + width], axis=1)
        start += width
    return img


def _canonical(cfg: np.ndarray, perms: np.ndarray, parts: Sequence[int]) -> np.ndarray:
    """Return the lexicographically smallest image of each configuration."""
    best = _image(cfg, perms[0], parts)
    for perm in perms[1:]:
        img = _image(cfg, perm, parts)
        less = _lex_less(img, best)
        best[less] = img[less]
    return best


def _stabiliser_size(
    cfg: np.ndarray, perms: np.ndarray, parts: Sequence[int]
) -> np.ndarray:
    """Count the operations in ``perms`` that fix each sorted configuration."""
    count = np.zeros(len(cfg), dtype=np.int64)
    for perm in perms:
        count += np.all(_image(cfg, perm, parts) == cfg, axis=1)
    return count


def _to_arrangement(
    pb: _Problem, row: np.ndarray, multiplicity: int, energy: float | None = None
) -> Arrangement:
    k_d, k_v = pb.n_dopants, pb.n_vac
    n_host = len(pb.host)
    inter = tuple(
        (float(a), float(b), float(c))
        for a, b, c in pb.cand_frac[row[k_d + k_v :] - n_host]
    )
    return Arrangement(
        dopant_sites=tuple(int(i) for i in row[:k_d]),
        vacancy_sites=tuple(int(i) for i in row[k_d : k_d + k_v]),
        interstitials=inter,
        multiplicity=int(multiplicity),
        ewald_energy=energy,
    )


def _to_row(pb: _Problem, arr: Arrangement) -> np.ndarray:
    """Sorted dopant, vacancy and extended extra-Li indices of an arrangement."""
    if (
        len(arr.dopant_sites) != pb.n_dopants
        or len(arr.vacancy_sites) != pb.n_vac
        or len(arr.interstitials) != pb.n_int
    ):
        raise CompositionError("arrangement does not match the scheme's defect counts")
    extra = [len(pb.host) + _candidate_index(pb, c) for c in arr.interstitials]
    row = [*sorted(arr.dopant_sites), *sorted(arr.vacancy_sites), *sorted(extra)]
    return np.array(row, dtype=np.int64)


def _candidate_index(pb: _Problem, coords: Sequence[float]) -> int:
    d = pb.cand_frac - np.asarray(coords)
    d -= np.rint(d)
    dist = np.linalg.norm(d @ pb.host.lattice.matrix, axis=1)
    if len(dist) == 0 or dist.min() > _MATCH_TOL:
        raise StructureError(f"{coords} is not a candidate interstitial site")
    return int(dist.argmin())


def canonicalize(
    arrangement: Arrangement,
    host_supercell: Structure,
    accelerant: Accelerant,
    scheme: Scheme,
    symprec: float = 0.01,
) -> Arrangement:
    """Return the equivalent arrangement :func:`enumerate_arrangements` would list.

    The canonical form is the lexicographically smallest image of (sorted dopant
    sites, sorted vacancies, sorted extra-Li candidate indices) over the supercell's
    space group; the returned copy carries the orbit size as its multiplicity.
    """
    n_dop = len(arrangement.dopant_sites)
    pb = _problem(host_supercell, accelerant, scheme, n_dop, symprec)
    parts = (pb.n_dopants, pb.n_vac, pb.n_int)
    best = _canonical(_to_row(pb, arrangement)[None], pb.perms, parts)
    mult = pb.order // int(_stabiliser_size(best, pb.perms, parts)[0])
    return _to_arrangement(pb, best[0], mult, arrangement.ewald_energy)


# ------------------------------------------------------------------------- enumeration
def enumerate_arrangements(
    host_supercell: Structure,
    accelerant: Accelerant,
    scheme: Scheme,
    n_dopants: int,
    max_enumerate: int = 200_000,
    keep: int | None = None,
    symprec: float = 0.01,
    *,
    n_starts: int = 500,
    seed: int = 0,
) -> list[Arrangement]:
    """List the symmetry-distinct arrangements of ``n_dopants`` dopants.

    Li-site: each dopant on a Li site plus (q - 1) Li vacancies; P-site: each dopant
    on a P site plus (5 - q) extra Li on candidate interstitial sites
    (:func:`interstitial_sites`, no two closer than :data:`INTERSTITIAL_MIN_LI`).

    The enumeration is exhaustive when the configurations it must canonicalise, i.e.
    (orbit representatives of the dopant sets under the supercell's space group G) x
    (vacancy/extra-Li sets per dopant set), number at most ``max_enumerate``; that is
    about raw count / |orbit of a dopant site| for one dopant (Al at x = 1/16 in the
    1x2x2 cell: 2 x 1081 of 51,888 raw). Each dopant-set representative's
    vacancy/extra-Li sets are reduced under its stabiliser. Every result is canonical
    (see :func:`canonicalize`) and its ``multiplicity`` is |G| / |stabiliser|, so the
    multiplicities sum to :func:`raw_arrangement_count`. Results come in canonical
    order without energies unless ``keep`` is given; then they are ranked by
    :func:`rank_by_ewald` and the ``keep`` lowest kept.

    Otherwise the result is a SAMPLE, not an enumeration: ``n_starts`` random
    arrangements (seeded by ``seed``) are relaxed by steepest descent of the Ewald
    energy over site swaps; the local minima and their lowest single-swap
    neighbours are deduplicated by symmetry and returned lowest Ewald energy first
    (at most ``keep``), with energies set. Their multiplicities do not sum to the raw
    count and low-lying arrangements may be missed.
    """
    pb, dop_reps = _plan(
        host_supercell, accelerant, scheme, n_dopants, max_enumerate, symprec
    )
    if dop_reps is None:
        found = _sample_low_ewald(pb, n_starts, seed)
        return found if keep is None else found[:keep]
    if keep is None:
        return _enumerate_exhaustive(pb, dop_reps)
    return _lowest(pb, *_exhaustive_rows(pb, dop_reps), keep)


def _plan(
    host: Structure,
    accelerant: Accelerant,
    scheme: Scheme,
    n_dopants: int,
    max_enumerate: int,
    symprec: float,
) -> tuple[_Problem, np.ndarray | None]:
    """The problem and its dopant-set representatives; None: too many, sample."""
    pb = _problem(host, accelerant, scheme, n_dopants, symprec)
    dop_reps = _dopant_set_reps(pb, max_enumerate)
    if dop_reps is None or len(dop_reps) * _rest_count(pb) > max_enumerate:
        return pb, None
    return pb, dop_reps


def _dopant_set_reps(pb: _Problem, limit: int) -> np.ndarray | None:
    """Return canonical orbit representatives of the dopant sets (None: too many)."""
    if math.comb(len(pb.dopant_sites), pb.n_dopants) > limit:
        return None
    sets = np.array(list(itertools.combinations(pb.dopant_sites, pb.n_dopants)))
    return np.unique(_canonical(sets, pb.perms, (pb.n_dopants,)), axis=0)


def _rest_count(pb: _Problem) -> int:
    """Return an upper bound on the vacancy/extra-Li sets per dopant set."""
    n = math.comb(len(pb.cand_frac), pb.n_int)
    if pb.scheme.name == "Li-site":
        n *= math.comb(len(pb.li_sites) - pb.n_dopants, pb.n_vac)
    return n


def _enumerate_exhaustive(pb: _Problem, dop_reps: np.ndarray) -> list[Arrangement]:
    rows, mult = _exhaustive_rows(pb, dop_reps)
    return [_to_arrangement(pb, row, int(m)) for row, m in zip(rows, mult, strict=True)]


def _exhaustive_rows(
    pb: _Problem, dop_reps: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Canonical rows and multiplicities of every distinct arrangement."""
    inter = _interstitial_combos(pb)
    parts = (pb.n_vac, pb.n_int)
    width = pb.n_dopants + pb.n_vac + pb.n_int
    rows_out: list[np.ndarray] = [np.zeros((0, width), dtype=np.int64)]
    mult_out: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    for d_rep in dop_reps:
        stab = _set_stabiliser(pb.perms, d_rep)
        if pb.scheme.name == "Li-site":
            free = np.setdiff1d(pb.li_sites, d_rep)
            vac = np.array(list(itertools.combinations(free, pb.n_vac)), dtype=np.int64)
            vac = vac.reshape(-1, pb.n_vac)
        else:
            vac = np.zeros((1, 0), dtype=np.int64)
        cfg = np.hstack(
            [np.repeat(vac, len(inter), axis=0), np.tile(inter, (len(vac), 1))]
        )
        reps, counts = np.unique(
            _canonical(cfg, stab, parts), axis=0, return_counts=True
        )
        stab_size = _stabiliser_size(reps, stab, parts)
        if np.any(counts * stab_size != len(stab)):  # orbit-stabiliser theorem
            raise RuntimeError("inconsistent symmetry reduction")
        rows_out.append(np.hstack([np.repeat(d_rep[None], len(reps), axis=0), reps]))
        mult_out.append(pb.order // stab_size)
    return np.vstack(rows_out).astype(np.int64), np.concatenate(mult_out)


def _rank_rows(pb: _Problem, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lowest-first order and Ewald energies of canonical rows.

    The numbers :func:`rank_by_ewald` gives for the same arrangements in the same
    order: its extra-Li sites are the candidates in order of first appearance.
    """
    n_host, k = len(pb.host), pb.n_dopants + pb.n_vac
    inter = rows[:, k:] - n_host
    uniq, first = np.unique(inter.ravel(), return_index=True)
    seen = uniq[np.argsort(first, kind="stable")]
    position = np.zeros(len(pb.cand_frac), dtype=np.int64)
    position[seen] = np.arange(len(seen))
    sites = rows.copy()
    sites[:, k:] = n_host + position[inter]
    form = _ewald_form(pb.host, (pb.cand_frac[seen] % 1.0).reshape(-1, 3))
    delta = _deltas(pb.q, pb.scheme, pb.n_dopants, pb.n_vac, pb.n_int)
    energies = form.energies(sites, np.tile(delta, (len(sites), 1)))
    return np.argsort(energies, kind="stable"), energies


def ranked_arrangements(
    host_supercell: Structure,
    accelerant: Accelerant,
    scheme: Scheme,
    n_dopants: int,
    keep: int,
    max_enumerate: int = 200_000,
    symprec: float = 0.01,
    *,
    n_starts: int = 500,
    seed: int = 0,
) -> tuple[list[Arrangement], int]:
    """The ``keep`` lowest-Ewald arrangements and the number of distinct ones.

    The same as ``rank_by_ewald(host, accelerant, scheme, arrs)[:keep]`` and
    ``len(arrs)`` for ``arrs = enumerate_arrangements(host, ...)`` (a sample where
    that samples), without building an :class:`Arrangement` for each of the (tens of
    thousands of) others: 31566 for the quick campaign's 12 doped cells.
    """
    pb, dop_reps = _plan(
        host_supercell, accelerant, scheme, n_dopants, max_enumerate, symprec
    )
    if dop_reps is None:
        found = _sample_low_ewald(pb, n_starts, seed)
        ranked = rank_by_ewald(host_supercell, accelerant, scheme, found)
        return ranked[:keep], len(found)
    rows, mult = _exhaustive_rows(pb, dop_reps)
    return _lowest(pb, rows, mult, keep), len(rows)


def _lowest(
    pb: _Problem, rows: np.ndarray, mult: np.ndarray, keep: int
) -> list[Arrangement]:
    """The ``keep`` lowest-Ewald rows as arrangements, energies set."""
    order, energies = _rank_rows(pb, rows)
    return [
        _to_arrangement(pb, rows[i], int(mult[i]), float(energies[i]))
        for i in order[:keep]
    ]


def _set_stabiliser(perms: np.ndarray, subset: np.ndarray) -> np.ndarray:
    """Rows of ``perms`` that map the sorted index set ``subset`` onto itself."""
    images = np.sort(perms[:, subset], axis=1)
    return perms[np.all(images == subset, axis=1)]


# ------------------------------------------------------------------------------ Ewald
class _EwaldForm:
    """Ewald energy of host + extra sites with arbitrary charges, as q^T A q.

    ``A`` is the pymatgen Ewald pair matrix (real + reciprocal, with the point/self
    term on the diagonal) for unit charges; the charged-cell term is omitted, which is
    exact for charge-neutral configurations.
    """

    def __init__(self, host: Structure, extra_frac: np.ndarray) -> None:
        symbols = [s.specie.symbol for s in host]
        unknown = set(symbols) - set(HOST_CHARGES)
        if unknown:
            raise StructureError(f"host contains {sorted(unknown)}; expected Li, P, S")
        frac = np.vstack([host.frac_coords, np.asarray(extra_frac).reshape(-1, 3)])
        unit = Structure(host.lattice, ["Li+"] * len(frac), frac)
        ewald = EwaldSummation(unit)
        self.matrix = ewald.total_energy_matrix
        self.q0 = np.array(
            [HOST_CHARGES[s] for s in symbols] + [0] * (len(frac) - len(host)),
            dtype=float,
        )
        self.h = self.matrix @ self.q0
        self.e0 = float(self.q0 @ self.h)

    def energies(self, sites: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """Return energies of configurations changing ``q0[sites]`` by ``delta``."""
        lin = 2 * np.sum(delta * self.h[sites], axis=1)
        quad = np.einsum(
            "ak,akl,al->a",
            delta,
            self.matrix[sites[:, :, None], sites[:, None, :]],
            delta,
        )
        return self.e0 + lin + quad


def _ewald_form(host: Structure, extra_frac: np.ndarray) -> _EwaldForm:
    """:class:`_EwaldForm` of a host and extra sites, kept for the next call."""
    symbols = np.array([s.specie.symbol for s in host])
    extra = np.asarray(extra_frac, dtype=float).reshape(-1, 3)
    key = (*_host_key(host, symbols), extra.tobytes())
    return _kept(
        _FORMS,
        key,
        lambda: _EwaldForm(host, extra),
        lambda f: (f.matrix, f.q0, f.h),
    )


def _deltas(q: int, scheme: Scheme, k_d: int, k_v: int, k_i: int) -> np.ndarray:
    """Return the charge change at the dopant, vacancy and extra-Li sites of a row."""
    base = HOST_CHARGES["Li"] if scheme.name == "Li-site" else HOST_CHARGES["P"]
    return np.array(
        [q - base] * k_d + [-HOST_CHARGES["Li"]] * k_v + [HOST_CHARGES["Li"]] * k_i,
        dtype=float,
    )


def rank_by_ewald(
    host_supercell: Structure,
    accelerant: Accelerant,
    scheme: Scheme,
    arrangements: Sequence[Arrangement],
) -> list[Arrangement]:
    """Sort arrangements by Ewald energy (formal charges Li+, P5+, S2-, M^q+).

    The Ewald matrix of the host sites plus every distinct extra-Li position is built
    once for unit charges (one :class:`EwaldSummation`), and each arrangement's energy
    (eV per supercell, equal to ``EwaldSummation(doped).total_energy``) is a quadratic
    form in the site charges. Returns copies with ``ewald_energy`` set, lowest first.
    """
    if not arrangements:
        return []
    n_host = len(host_supercell)
    matrix = host_supercell.lattice.matrix
    symbols = [site.specie.symbol for site in host_supercell]
    host_el = "Li" if scheme.name == "Li-site" else "P"
    extra: list[np.ndarray] = []
    rows = []
    for arr in arrangements:
        if any(not 0 <= i < n_host for i in (*arr.dopant_sites, *arr.vacancy_sites)):
            raise StructureError("arrangement indexes sites outside the host supercell")
        if any(symbols[i] != host_el for i in arr.dopant_sites) or any(
            symbols[i] != "Li" for i in arr.vacancy_sites
        ):
            raise StructureError(f"arrangement does not fit the {scheme.name} scheme")
        idx = []
        for c in arr.interstitials:
            p = np.asarray(c, dtype=float) % 1.0
            j = next(
                (k for k, e in enumerate(extra) if _nearest(p, e[None], matrix) < 1e-3),
                None,
            )
            if j is None:
                extra.append(p)
                j = len(extra) - 1
            idx.append(n_host + j)
        rows.append([*arr.dopant_sites, *arr.vacancy_sites, *idx])
    shapes = {
        (len(a.dopant_sites), len(a.vacancy_sites), len(a.interstitials))
        for a in arrangements
    }
    if len(shapes) != 1:
        raise CompositionError("arrangements with different defect counts cannot mix")
    ((k_d, k_v, k_i),) = shapes
    if k_v != k_d * scheme.n_vacancies or k_i != k_d * scheme.n_interstitials:
        raise CompositionError(f"arrangements do not follow the {scheme.name} scheme")
    form = _ewald_form(host_supercell, np.array(extra).reshape(-1, 3))
    delta = _deltas(accelerant.oxidation_state, scheme, k_d, k_v, k_i)
    sites = np.array(rows, dtype=np.int64).reshape(len(rows), -1)
    energies = form.energies(sites, np.tile(delta, (len(sites), 1)))
    order = np.argsort(energies, kind="stable")
    return [
        dataclasses.replace(arrangements[i], ewald_energy=float(energies[i]))
        for i in order
    ]


# --------------------------------------------------------------------------- sampling
def _sample_low_ewald(
    pb: _Problem, n_starts: int, seed: int, n_neighbours: int = 20
) -> list[Arrangement]:
    """Collect low-Ewald arrangements from random starts relaxed by steepest descent.

    Each start is relaxed by the best site swap (two sites of one sublattice with
    different occupants) until no swap lowers the energy; the minimum and its
    ``n_neighbours`` lowest single-swap neighbours are kept. Returns the distinct
    (canonical) ones, lowest energy first.
    """
    rng = np.random.default_rng(seed)
    form = _ewald_form(pb.host, pb.cand_frac)
    amat, diag = form.matrix, np.diag(form.matrix)
    cand = np.arange(len(pb.host), len(pb.host) + len(pb.cand_frac))
    close = _close_pairs(pb).astype(int) if pb.n_int > 1 else None
    if pb.scheme.name == "Li-site":
        sublattices = [pb.li_sites]
    else:
        sublattices = [pb.dopant_sites] + ([cand] if pb.n_int else [])
    rows: list[np.ndarray] = []
    energies: list[float] = []
    for _ in range(n_starts):
        start = _random_start(pb, form.q0, rng, close)
        if start is None:
            continue
        q, lab = start
        h = amat @ q
        while True:
            moves = []
            for sub in sublattices:
                qs, ls = q[sub], lab[sub]
                dq = qs[None, :] - qs[:, None]  # charge change at a when a <-> b swap
                de = 2 * dq * (h[sub][:, None] - h[sub][None, :]) + dq**2 * (
                    diag[sub][:, None] + diag[sub][None, :] - 2 * amat[np.ix_(sub, sub)]
                )
                de[np.triu_indices(len(sub))] = np.inf  # each swap once
                de[ls[:, None] == ls[None, :]] = np.inf
                if close is not None and sub is cand:
                    occ = (ls == _EXTRA).astype(int)
                    clash = (close @ occ)[None, :] - close  # other extra Li near b
                    bad = (occ[:, None] == 1) & (occ[None, :] == 0) & (clash > 0)
                    de[bad | bad.T] = np.inf
                ia, ib = np.nonzero(np.isfinite(de))
                moves.append((de[ia, ib], sub[ia], sub[ib]))
            de_all = np.concatenate([m[0] for m in moves])
            a_all = np.concatenate([m[1] for m in moves])
            b_all = np.concatenate([m[2] for m in moves])
            if len(de_all) == 0 or de_all.min() >= -1e-9:
                break
            k = int(np.argmin(de_all))
            _swap(q, lab, h, amat, int(a_all[k]), int(b_all[k]))
        e_min = float(q @ amat @ q)
        rows.append(_row_from_labels(lab))
        energies.append(e_min)
        for k in np.argsort(de_all)[:n_neighbours]:
            lab2 = lab.copy()
            lab2[[a_all[k], b_all[k]]] = lab2[[b_all[k], a_all[k]]]
            rows.append(_row_from_labels(lab2))
            energies.append(e_min + float(de_all[k]))
    if not rows:
        return []
    parts = (pb.n_dopants, pb.n_vac, pb.n_int)
    canon = _canonical(np.array(rows, dtype=np.int64), pb.perms, parts)
    uniq, first = np.unique(canon, axis=0, return_index=True)
    energy = np.asarray(energies)[first]
    order = np.argsort(energy, kind="stable")
    uniq, energy = uniq[order], energy[order]
    mult = pb.order // _stabiliser_size(uniq, pb.perms, parts)
    return [
        _to_arrangement(pb, row, int(m), float(e))
        for row, m, e in zip(uniq, mult, energy, strict=True)
    ]


def _swap(
    q: np.ndarray, lab: np.ndarray, h: np.ndarray, amat: np.ndarray, a: int, b: int
) -> None:
    """Swap the occupants of sites a and b in place, updating h = A q."""
    d = q[b] - q[a]
    q[a], q[b] = q[b], q[a]
    lab[a], lab[b] = lab[b], lab[a]
    h += d * (amat[:, a] - amat[:, b])


def _random_start(
    pb: _Problem, q0: np.ndarray, rng: np.random.Generator, close: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """Return charges and occupant labels of a random arrangement (None: no fit)."""
    q, lab = q0.copy(), np.zeros(len(q0), dtype=np.int8)
    dop = rng.choice(pb.dopant_sites, pb.n_dopants, replace=False)
    q[dop], lab[dop] = pb.q, _DOPANT
    if pb.n_vac:
        vac = rng.choice(np.setdiff1d(pb.li_sites, dop), pb.n_vac, replace=False)
        q[vac], lab[vac] = 0, _VACANCY
    chosen: list[int] = []
    for j in rng.permutation(len(pb.cand_frac)):
        if len(chosen) == pb.n_int:
            break
        if close is None or not close[j, chosen].any():
            chosen.append(int(j))
    if len(chosen) < pb.n_int:
        return None
    extra = np.array(chosen, dtype=np.int64) + len(pb.host)
    q[extra], lab[extra] = HOST_CHARGES["Li"], _EXTRA
    return q, lab


def _row_from_labels(lab: np.ndarray) -> np.ndarray:
    """Return the configuration row (dopants, vacancies, extra Li) of the labels."""
    return np.concatenate(
        [np.flatnonzero(lab == x) for x in (_DOPANT, _VACANCY, _EXTRA)]
    ).astype(np.int64)
