"""Doped beta-Li3PS4 supercells: cell choice, symmetry-distinct arrangements, Ewald.

The dopant count follows from the doping level x (dopants per PS4 formula unit) and
a diagonal supercell of the host (:func:`choose_supercell`). An :class:`Arrangement`
records which supercell sites the dopants occupy (a Li or P site by index, or an
empty LiS6 site by fractional coordinate), which Li sites are vacant and where
extra (interstitial) Li go, by site index and fractional coordinate only, so the same
arrangement can be applied to the host before and after relaxation
(:meth:`Arrangement.apply`). Here: the enumeration problem and its canonical forms
under the supercell's space group (lattice translations included);
:mod:`~lpsflow.structures.arrangement_ranking` lists the distinct arrangements with
their multiplicities and sorts them by the point-charge electrostatic energy with
formal charges (a quadratic form); :mod:`~lpsflow.structures.doping_sites` holds the
site symmetry and interstitial sites, :mod:`~lpsflow.structures.supercells` the
cell choice.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from monty.json import MSONable
from pymatgen.core import Structure

from lpsflow.errors import CompositionError, StructureError
from lpsflow.structures.accelerant import SCHEME_NAMES, Accelerant, Scheme
from lpsflow.structures.doping_sites import (
    EMPTY_SITE_BLOCK,
    INTERSTITIAL_MIN_LI,
    MATCH_TOL,
    blocked_li,
    candidate_empty_sites,
    candidate_interstitials,
    site_permutations,
    symmetry_operations,
)

#: Formal charges of the host species.
HOST_CHARGES: dict[str, int] = {"Li": 1, "P": 5, "S": -2}
#: Occupant labels used by the Ewald sampler (0: host species or empty candidate).
DOPANT, VACANCY, EXTRA = 1, 2, 3


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
    dopant_positions: tuple[tuple[float, float, float], ...] = ()
    """Fractional coordinates (supercell) of dopants in empty sites (empty-site)."""

    def apply(self, host_supercell: Structure, cation: str) -> Structure:
        """Build the doped structure from a host with the enumeration's site order.

        Only indices and fractional coordinates are used, so the host may be relaxed
        or strained. Dopants keep their host index (shifted down past removed
        vacancies); dopants in empty sites, then extra Li, are appended at the end.
        Site properties are dropped.
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
        added = [*self.dopant_positions, *self.interstitials]
        if added:
            frac = np.vstack([frac, np.asarray(added, dtype=float)])
            species += [cation] * len(self.dopant_positions)
            species += ["Li"] * len(self.interstitials)
        return Structure(host_supercell.lattice, species, frac)

    @property
    def n_dopants(self) -> int:
        """Dopants of the arrangement, on host sites and in empty sites."""
        return len(self.dopant_sites) + len(self.dopant_positions)

    def as_dict(self) -> dict[str, Any]:
        """Serialise to a JSON-compatible dict (MSONable).

        ``dopant_positions`` only when there are any: the documents (and job ids) of
        the other schemes stay as they were.
        """
        out = {
            "@module": type(self).__module__,
            "@class": type(self).__name__,
            "dopant_sites": list(self.dopant_sites),
            "vacancy_sites": list(self.vacancy_sites),
            "interstitials": [list(c) for c in self.interstitials],
            "multiplicity": self.multiplicity,
            "ewald_energy": self.ewald_energy,
        }
        if self.dopant_positions:
            out["dopant_positions"] = [list(c) for c in self.dopant_positions]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Arrangement:
        """Rebuild from :meth:`as_dict` output."""
        energy = d.get("ewald_energy")
        return cls(
            dopant_sites=tuple(int(i) for i in d["dopant_sites"]),
            dopant_positions=tuple(
                (float(a), float(b), float(c))
                for a, b, c in d.get("dopant_positions", ())
            ),
            vacancy_sites=tuple(int(i) for i in d.get("vacancy_sites", ())),
            interstitials=tuple(
                (float(a), float(b), float(c)) for a, b, c in d.get("interstitials", ())
            ),
            multiplicity=int(d.get("multiplicity", 1)),
            ewald_energy=None if energy is None else float(energy),
        )


# ---------------------------------------------------------------------- problem set-up
@dataclass
class EnumerationProblem:
    """Sites, symmetry and interstitial candidates of one doping problem."""

    host: Structure
    q: int
    scheme: Scheme
    n_dopants: int
    dopant_sites: np.ndarray
    li_sites: np.ndarray
    cand_frac: np.ndarray
    """Candidate sites beyond the host's: the interstitial Li sites (P-site) or the
    empty LiS6 sites the dopants enter (empty-site); extended index = len(host) + row.
    """
    perms: np.ndarray
    """Permutations of host sites + candidates, (n_ops, n_host + n_cand)."""
    blocked: dict[int, np.ndarray] = dataclasses.field(default_factory=dict)
    """Empty-site: extended index of an empty site -> the Li that leave with the
    dopant entering it (:func:`~lpsflow.structures.doping_sites.blocked_li`)."""

    def forced_vacancies(self, dopants: Sequence[int] | np.ndarray) -> np.ndarray:
        """The Li that must be vacant with these dopants (sorted; empty-site only)."""
        parts = [self.blocked[int(d)] for d in dopants if int(d) in self.blocked]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(parts)).astype(np.int64)

    @property
    def n_vac(self) -> int:
        """Li vacancies of the arrangement (dopants x the scheme's)."""
        return self.n_dopants * self.scheme.n_vacancies

    @property
    def n_int(self) -> int:
        """Interstitial Li of the arrangement (dopants x the scheme's)."""
        return self.n_dopants * self.scheme.n_interstitials

    @property
    def order(self) -> int:
        """Number of symmetry operations (site permutations)."""
        return len(self.perms)


def enumeration_problem(
    host: Structure,
    accelerant: Accelerant,
    scheme: Scheme,
    n_dopants: int,
    symprec: float,
) -> EnumerationProblem:
    """The sites, candidates and symmetry of one enumeration (host, scheme, count)."""
    symbols = np.array([s.specie.symbol for s in host])
    unknown = set(symbols) - set(HOST_CHARGES)
    if unknown:
        raise StructureError(f"host contains {sorted(unknown)}; expected Li, P and S")
    if scheme.name not in SCHEME_NAMES:
        raise CompositionError(f"unknown charge-compensation scheme '{scheme.name}'")
    li = np.flatnonzero(symbols == "Li")
    n_vac = n_dopants * scheme.n_vacancies
    n_int = n_dopants * scheme.n_interstitials
    extra = "empty" if scheme.name == "empty-site" else "interstitial" if n_int else ""
    cand, perms = _host_symmetry(host, symbols, symprec, extra)
    blocked: dict[int, np.ndarray] = {}
    if scheme.host_element is not None:
        dopant_sites = np.flatnonzero(symbols == scheme.host_element)
    else:  # the empty sites whose blocked Li the dopant's vacancies can cover
        near = blocked_li(host, cand)
        fits = [j for j, b in enumerate(near) if len(b) <= scheme.n_vacancies]
        dopant_sites = len(host) + np.array(fits, dtype=np.int64)
        blocked = {len(host) + j: near[j] for j in fits}
        if len(cand) and not fits:
            raise CompositionError(
                f"no empty LiS6 site takes M{accelerant.oxidation_state}+: each has "
                f"more Li within {EMPTY_SITE_BLOCK} A than its "
                f"{scheme.n_vacancies} vacancies"
            )
    if n_dopants < 1 or n_dopants > len(dopant_sites):
        where = "empty LiS6 sites" if scheme.name == "empty-site" else scheme.name + "s"
        raise CompositionError(
            f"{n_dopants} dopants do not fit on {len(dopant_sites)} {where}"
        )
    if n_vac > len(li) - (n_dopants if scheme.name == "Li-site" else 0):
        raise CompositionError(f"{n_vac} Li vacancies do not fit in the supercell")
    if n_int > len(cand):
        raise CompositionError(
            f"{n_int} extra Li but only {len(cand)} interstitial sites found"
        )
    return EnumerationProblem(
        host, accelerant.oxidation_state, scheme, n_dopants, dopant_sites, li, cand,
        perms, blocked,
    )  # fmt: skip


#: Host symmetry (interstitial candidates, site permutations) and Ewald forms of
#: recent hosts: a campaign asks for the same few supercells once per accelerant,
#: scheme and x.
_SYMMETRY: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
_CACHE_SIZE = 16


def cached(cache: dict, key: tuple, build: Callable[[], Any], arrays: Callable) -> Any:
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


def host_key(host: Structure, symbols: np.ndarray) -> tuple:
    """Cache key of a host: its lattice, species and coordinates, rounded."""
    return (
        host.lattice.matrix.tobytes(),
        host.frac_coords.tobytes(),
        tuple(symbols.tolist()),
    )


def _host_symmetry(
    host: Structure, symbols: np.ndarray, symprec: float, extra: str
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate sites beyond the host's and site permutations of host + candidates.

    ``extra``: "interstitial" (Li interstitial sites), "empty" (empty LiS6 sites)
    or "" (none). Computed once per host, ``symprec`` and ``extra`` and kept
    (read-only) for the next doping problem on the same host.
    """

    def build() -> tuple[np.ndarray, np.ndarray]:
        rot, trans = symmetry_operations(host, symprec)
        finders = {
            "interstitial": candidate_interstitials,
            "empty": candidate_empty_sites,
        }
        cand = finders[extra](host, rot, trans) if extra else np.zeros((0, 3))
        frac = np.vstack([host.frac_coords % 1.0, cand])
        labels = [*symbols, *(["X"] * len(cand))]
        return cand, site_permutations(frac, labels, rot, trans, host.lattice.matrix)

    key = (*host_key(host, symbols), symprec, extra)
    return cached(_SYMMETRY, key, build, lambda v: v)


def _interstitial_combos(pb: EnumerationProblem) -> np.ndarray:
    """List allowed extra-Li sets by extended index (none closer than the Li limit)."""
    n_host, k = len(pb.host), pb.n_int
    if k == 0:
        return np.zeros((1, 0), dtype=np.int64)
    combos = np.array(list(itertools.combinations(range(len(pb.cand_frac)), k)))
    if k > 1:
        close = close_pairs(pb)
        bad = np.zeros(len(combos), dtype=bool)
        for a, b in itertools.combinations(range(k), 2):
            bad |= close[combos[:, a], combos[:, b]]
        combos = combos[~bad]
    return combos.astype(np.int64) + n_host


def close_pairs(pb: EnumerationProblem) -> np.ndarray:
    """Pairs of interstitial candidates too close to be occupied together."""
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

    Li-site: C(n_Li, n_M) * C(n_Li - n_M, n_vac). empty-site: the sum over dopant
    sets of C(n_Li - f, n_vac - f), f the Li the set blocks. P-site: C(n_P, n_M)
    times the number of sets of extra-Li sites no two of which are closer than
    :data:`INTERSTITIAL_MIN_LI` (counted by enumeration for more than one extra Li).
    """
    pb = enumeration_problem(host_supercell, accelerant, scheme, n_dopants, symprec)
    if pb.blocked:  # the vacancies include the Li each dopant set blocks
        n_li, total = len(pb.li_sites), 0
        for dop in itertools.combinations(pb.dopant_sites, pb.n_dopants):
            f = len(pb.forced_vacancies(dop))
            total += math.comb(n_li - f, pb.n_vac - f) if f <= pb.n_vac else 0
        return total
    n = math.comb(len(pb.dopant_sites), pb.n_dopants)
    return n * _vacancy_count(pb) * len(_interstitial_combos(pb))


def _vacancy_count(pb: EnumerationProblem) -> int:
    """Sets of Li vacancies per dopant set."""
    on_li = pb.n_dopants if pb.scheme.name == "Li-site" else 0
    return math.comb(len(pb.li_sites) - on_li, pb.n_vac)


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


def canonical_form(
    cfg: np.ndarray, perms: np.ndarray, parts: Sequence[int]
) -> np.ndarray:
    """Return the lexicographically smallest image of each configuration."""
    best = _image(cfg, perms[0], parts)
    for perm in perms[1:]:
        img = _image(cfg, perm, parts)
        less = _lex_less(img, best)
        best[less] = img[less]
    return best


def stabiliser_size(
    cfg: np.ndarray, perms: np.ndarray, parts: Sequence[int]
) -> np.ndarray:
    """Count the operations in ``perms`` that fix each sorted configuration."""
    count = np.zeros(len(cfg), dtype=np.int64)
    for perm in perms:
        count += np.all(_image(cfg, perm, parts) == cfg, axis=1)
    return count


def to_arrangement(
    pb: EnumerationProblem,
    row: np.ndarray,
    multiplicity: int,
    energy: float | None = None,
) -> Arrangement:
    """The :class:`Arrangement` of one configuration row."""
    k_d, k_v = pb.n_dopants, pb.n_vac
    n_host = len(pb.host)
    inter = tuple(
        (float(a), float(b), float(c))
        for a, b, c in pb.cand_frac[row[k_d + k_v :] - n_host]
    )
    dop = row[:k_d]
    positions = tuple(
        (float(a), float(b), float(c))
        for a, b, c in pb.cand_frac[dop[dop >= n_host] - n_host]
    )
    return Arrangement(
        dopant_sites=tuple(int(i) for i in dop[dop < n_host]),
        dopant_positions=positions,
        vacancy_sites=tuple(int(i) for i in row[k_d : k_d + k_v]),
        interstitials=inter,
        multiplicity=int(multiplicity),
        ewald_energy=energy,
    )


def _to_row(pb: EnumerationProblem, arr: Arrangement) -> np.ndarray:
    """Sorted dopant, vacancy and extended extra-Li indices of an arrangement."""
    if (
        arr.n_dopants != pb.n_dopants
        or len(arr.vacancy_sites) != pb.n_vac
        or len(arr.interstitials) != pb.n_int
    ):
        raise CompositionError("arrangement does not match the scheme's defect counts")
    extra = [len(pb.host) + _candidate_index(pb, c) for c in arr.interstitials]
    dop = [len(pb.host) + _candidate_index(pb, c) for c in arr.dopant_positions]
    if (pb.scheme.name == "empty-site") != bool(dop) or (dop and arr.dopant_sites):
        raise CompositionError(f"arrangement does not fit the {pb.scheme.name} scheme")
    if not set(pb.forced_vacancies(dop).tolist()) <= set(arr.vacancy_sites):
        raise CompositionError(
            f"arrangement keeps Li within {EMPTY_SITE_BLOCK} A of a dopant"
        )
    dop = sorted([*arr.dopant_sites, *dop])
    row = [*dop, *sorted(arr.vacancy_sites), *sorted(extra)]
    return np.array(row, dtype=np.int64)


def _candidate_index(pb: EnumerationProblem, coords: Sequence[float]) -> int:
    d = pb.cand_frac - np.asarray(coords)
    d -= np.rint(d)
    dist = np.linalg.norm(d @ pb.host.lattice.matrix, axis=1)
    if len(dist) == 0 or dist.min() > MATCH_TOL:
        raise StructureError(f"{coords} is not a candidate site of the host")
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
    n_dop = arrangement.n_dopants
    pb = enumeration_problem(host_supercell, accelerant, scheme, n_dop, symprec)
    parts = (pb.n_dopants, pb.n_vac, pb.n_int)
    best = canonical_form(_to_row(pb, arrangement)[None], pb.perms, parts)
    mult = pb.order // int(stabiliser_size(best, pb.perms, parts)[0])
    return to_arrangement(pb, best[0], mult, arrangement.ewald_energy)


def enumeration_plan(
    host: Structure,
    accelerant: Accelerant,
    scheme: Scheme,
    n_dopants: int,
    max_enumerate: int,
    symprec: float,
) -> tuple[EnumerationProblem, np.ndarray | None]:
    """The problem and its dopant-set representatives; None: too many, sample."""
    pb = enumeration_problem(host, accelerant, scheme, n_dopants, symprec)
    dop_reps = _dopant_set_reps(pb, max_enumerate)
    if dop_reps is None or len(dop_reps) * _rest_count(pb) > max_enumerate:
        return pb, None
    return pb, dop_reps


def _dopant_set_reps(pb: EnumerationProblem, limit: int) -> np.ndarray | None:
    """Return canonical orbit representatives of the dopant sets (None: too many)."""
    if math.comb(len(pb.dopant_sites), pb.n_dopants) > limit:
        return None
    sets = np.array(list(itertools.combinations(pb.dopant_sites, pb.n_dopants)))
    return np.unique(canonical_form(sets, pb.perms, (pb.n_dopants,)), axis=0)


def _rest_count(pb: EnumerationProblem) -> int:
    """Return an upper bound on the vacancy/extra-Li sets per dopant set."""
    return math.comb(len(pb.cand_frac), pb.n_int) * _vacancy_count(pb)


def enumerate_exhaustive(
    pb: EnumerationProblem, dop_reps: np.ndarray
) -> list[Arrangement]:
    """Every distinct arrangement of ``pb``, from the dopant-set representatives."""
    rows, mult = exhaustive_rows(pb, dop_reps)
    return [to_arrangement(pb, row, int(m)) for row, m in zip(rows, mult, strict=True)]


def exhaustive_rows(
    pb: EnumerationProblem, dop_reps: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Canonical rows and multiplicities of every distinct arrangement."""
    inter = _interstitial_combos(pb)
    parts = (pb.n_vac, pb.n_int)
    width = pb.n_dopants + pb.n_vac + pb.n_int
    rows_out: list[np.ndarray] = [np.zeros((0, width), dtype=np.int64)]
    mult_out: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    for d_rep in dop_reps:
        stab = _set_stabiliser(pb.perms, d_rep)
        if pb.n_vac:
            forced = pb.forced_vacancies(d_rep)
            if len(forced) > pb.n_vac:
                continue  # the dopants block more Li than they remove
            free = np.setdiff1d(pb.li_sites, np.concatenate([d_rep, forced]))
            rest = list(itertools.combinations(free, pb.n_vac - len(forced)))
            vac = np.array(
                [sorted((*forced, *r)) for r in rest], dtype=np.int64
            ).reshape(-1, pb.n_vac)
        else:
            vac = np.zeros((1, 0), dtype=np.int64)
        cfg = np.hstack(
            [np.repeat(vac, len(inter), axis=0), np.tile(inter, (len(vac), 1))]
        )
        reps, counts = np.unique(
            canonical_form(cfg, stab, parts), axis=0, return_counts=True
        )
        stab_size = stabiliser_size(reps, stab, parts)
        if np.any(counts * stab_size != len(stab)):  # orbit-stabiliser theorem
            raise RuntimeError("inconsistent symmetry reduction")
        rows_out.append(np.hstack([np.repeat(d_rep[None], len(reps), axis=0), reps]))
        mult_out.append(pb.order // stab_size)
    return np.vstack(rows_out).astype(np.int64), np.concatenate(mult_out)


def _set_stabiliser(perms: np.ndarray, subset: np.ndarray) -> np.ndarray:
    """Rows of ``perms`` that map the sorted index set ``subset`` onto itself."""
    images = np.sort(perms[:, subset], axis=1)
    return perms[np.all(images == subset, axis=1)]
