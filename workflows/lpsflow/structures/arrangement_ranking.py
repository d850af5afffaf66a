"""Arrangements ranked by their point-charge (Ewald) energy.

The enumeration keeps the lowest: exhaustive where the orbit count allows, else a
low-energy sample by single swaps (:func:`ranked_arrangements`,
:func:`enumerate_arrangements`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from pymatgen.analysis.ewald import EwaldSummation
from pymatgen.core import Structure

from lpsflow.errors import CompositionError, StructureError
from lpsflow.structures.accelerant import Accelerant, Scheme
from lpsflow.structures.doping import (
    DOPANT,
    EXTRA,
    HOST_CHARGES,
    VACANCY,
    Arrangement,
    EnumerationProblem,
    cached,
    canonical_form,
    close_pairs,
    enumerate_exhaustive,
    enumeration_plan,
    exhaustive_rows,
    host_key,
    stabiliser_size,
    to_arrangement,
)
from lpsflow.structures.doping_sites import (
    nearest_distance,
)

_FORMS: dict[tuple, _EwaldForm] = {}


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
    key = (*host_key(host, symbols), extra.tobytes())
    return cached(
        _FORMS,
        key,
        lambda: _EwaldForm(host, extra),
        lambda f: (f.matrix, f.q0, f.h),
    )


def _deltas(q: int, scheme: Scheme, k_d: int, k_v: int, k_i: int) -> np.ndarray:
    """Return the charge change at the dopant, vacancy and extra-Li sites of a row."""
    base = HOST_CHARGES.get(scheme.host_element, 0)  # an empty site: 0
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

    The Ewald matrix of the host sites plus every distinct added position (dopants in
    empty sites, extra Li) is built
    once for unit charges (one :class:`EwaldSummation`), and each arrangement's energy
    (eV per supercell, equal to ``EwaldSummation(doped).total_energy``) is a quadratic
    form in the site charges. Returns copies with ``ewald_energy`` set, lowest first.
    """
    if not arrangements:
        return []
    n_host = len(host_supercell)
    matrix = host_supercell.lattice.matrix
    symbols = [site.specie.symbol for site in host_supercell]
    host_el = scheme.host_element
    extra: list[np.ndarray] = []

    def added(coords: Sequence[Sequence[float]]) -> list[int]:
        idx = []
        for c in coords:
            p = np.asarray(c, dtype=float) % 1.0
            j = next(
                (
                    k
                    for k, e in enumerate(extra)
                    if nearest_distance(p, e[None], matrix) < 1e-3
                ),
                None,
            )
            if j is None:
                extra.append(p)
                j = len(extra) - 1
            idx.append(n_host + j)
        return idx

    rows = []
    for arr in arrangements:
        if any(not 0 <= i < n_host for i in (*arr.dopant_sites, *arr.vacancy_sites)):
            raise StructureError("arrangement indexes sites outside the host supercell")
        if (
            any(symbols[i] != host_el for i in arr.dopant_sites)
            or any(symbols[i] != "Li" for i in arr.vacancy_sites)
            or bool(arr.dopant_positions) != (host_el is None)
        ):
            raise StructureError(f"arrangement does not fit the {scheme.name} scheme")
        dopants = [*arr.dopant_sites, *added(arr.dopant_positions)]
        rows.append([*dopants, *arr.vacancy_sites, *added(arr.interstitials)])
    shapes = {
        (a.n_dopants, len(a.vacancy_sites), len(a.interstitials)) for a in arrangements
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
    pb: EnumerationProblem, n_starts: int, seed: int, n_neighbours: int = 20
) -> list[Arrangement]:
    """Collect low-Ewald arrangements from random starts relaxed by steepest descent.

    Each start is relaxed by the best site swap (two sites of one sublattice with
    different occupants) until no swap lowers the energy (empty-site: the dopants
    stay where the start puts them, with their blocked Li vacant, and the other
    vacancies move); the minimum and its
    ``n_neighbours`` lowest single-swap neighbours are kept. Returns the distinct
    (canonical) ones, lowest energy first.
    """
    rng = np.random.default_rng(seed)
    form = _ewald_form(pb.host, pb.cand_frac)
    amat, diag = form.matrix, np.diag(form.matrix)
    cand = np.arange(len(pb.host), len(pb.host) + len(pb.cand_frac))
    close = close_pairs(pb).astype(int) if pb.n_int > 1 else None
    if pb.scheme.name == "P-site":
        sublattices = [pb.dopant_sites] + ([cand] if pb.n_int else [])
    else:
        sublattices = [pb.li_sites]
    rows: list[np.ndarray] = []
    energies: list[float] = []
    for _ in range(n_starts):
        start = _random_start(pb, form.q0, rng, close)
        if start is None:
            continue
        q, lab = start
        h = amat @ q
        if pb.blocked:  # the dopants stay; their blocked Li stay vacant
            forced = pb.forced_vacancies(np.flatnonzero(lab == DOPANT))
            sublattices = [np.setdiff1d(pb.li_sites, forced)]
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
                    occ = (ls == EXTRA).astype(int)
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
    canon = canonical_form(np.array(rows, dtype=np.int64), pb.perms, parts)
    uniq, first = np.unique(canon, axis=0, return_index=True)
    energy = np.asarray(energies)[first]
    order = np.argsort(energy, kind="stable")
    uniq, energy = uniq[order], energy[order]
    mult = pb.order // stabiliser_size(uniq, pb.perms, parts)
    return [
        to_arrangement(pb, row, int(m), float(e))
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
    pb: EnumerationProblem,
    q0: np.ndarray,
    rng: np.random.Generator,
    close: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Return charges and occupant labels of a random arrangement (None: no fit)."""
    q, lab = q0.copy(), np.zeros(len(q0), dtype=np.int8)
    dop = rng.choice(pb.dopant_sites, pb.n_dopants, replace=False)
    q[dop], lab[dop] = pb.q, DOPANT
    if pb.n_vac:
        forced = pb.forced_vacancies(dop)
        if len(forced) > pb.n_vac:
            return None
        free = np.setdiff1d(pb.li_sites, np.concatenate([dop, forced]))
        rest = rng.choice(free, pb.n_vac - len(forced), replace=False)
        vac = np.concatenate([forced, rest]).astype(np.int64)
        q[vac], lab[vac] = 0, VACANCY
    chosen: list[int] = []
    for j in rng.permutation(len(pb.cand_frac)):
        if len(chosen) == pb.n_int:
            break
        if close is None or not close[j, chosen].any():
            chosen.append(int(j))
    if len(chosen) < pb.n_int:
        return None
    extra = np.array(chosen, dtype=np.int64) + len(pb.host)
    q[extra], lab[extra] = HOST_CHARGES["Li"], EXTRA
    return q, lab


def _row_from_labels(lab: np.ndarray) -> np.ndarray:
    """Return the configuration row (dopants, vacancies, extra Li) of the labels."""
    return np.concatenate(
        [np.flatnonzero(lab == x) for x in (DOPANT, VACANCY, EXTRA)]
    ).astype(np.int64)


def _rank_rows(
    pb: EnumerationProblem, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Lowest-first order and Ewald energies of canonical rows.

    The numbers :func:`rank_by_ewald` gives for the same arrangements in the same
    order: its added sites (dopants in empty sites, extra Li) are the candidates in
    order of first appearance.
    """
    n_host = len(pb.host)
    flat = rows.ravel()
    ext = flat >= n_host
    uniq, first = np.unique(flat[ext] - n_host, return_index=True)
    seen = uniq[np.argsort(first, kind="stable")]
    position = np.zeros(len(pb.cand_frac), dtype=np.int64)
    position[seen] = np.arange(len(seen))
    sites = flat.copy()
    sites[ext] = n_host + position[flat[ext] - n_host]
    sites = sites.reshape(rows.shape)
    form = _ewald_form(pb.host, (pb.cand_frac[seen] % 1.0).reshape(-1, 3))
    delta = _deltas(pb.q, pb.scheme, pb.n_dopants, pb.n_vac, pb.n_int)
    energies = form.energies(sites, np.tile(delta, (len(sites), 1)))
    return np.argsort(energies, kind="stable"), energies


def _lowest(
    pb: EnumerationProblem, rows: np.ndarray, mult: np.ndarray, keep: int
) -> list[Arrangement]:
    """The ``keep`` lowest-Ewald rows as arrangements, energies set."""
    order, energies = _rank_rows(pb, rows)
    return [
        to_arrangement(pb, rows[i], int(mult[i]), float(energies[i]))
        for i in order[:keep]
    ]


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
    pb, dop_reps = enumeration_plan(
        host_supercell, accelerant, scheme, n_dopants, max_enumerate, symprec
    )
    if dop_reps is None:
        found = _sample_low_ewald(pb, n_starts, seed)
        ranked = rank_by_ewald(host_supercell, accelerant, scheme, found)
        return ranked[:keep], len(found)
    rows, mult = exhaustive_rows(pb, dop_reps)
    return _lowest(pb, rows, mult, keep), len(rows)


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

    Li-site: each dopant on a Li site plus (q - 1) Li vacancies; empty-site: each
    dopant in an empty LiS6 site (:func:`empty_s6_sites`) plus q Li vacancies, the
    Li within :data:`EMPTY_SITE_BLOCK` of it among them;
    P-site: each dopant on a P site plus (5 - q) extra Li on candidate interstitial
    sites (:func:`interstitial_sites`, no two closer than
    :data:`INTERSTITIAL_MIN_LI`).

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
    pb, dop_reps = enumeration_plan(
        host_supercell, accelerant, scheme, n_dopants, max_enumerate, symprec
    )
    if dop_reps is None:
        found = _sample_low_ewald(pb, n_starts, seed)
        return found if keep is None else found[:keep]
    if keep is None:
        return enumerate_exhaustive(pb, dop_reps)
    return _lowest(pb, *exhaustive_rows(pb, dop_reps), keep)
