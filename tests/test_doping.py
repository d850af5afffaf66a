"""Supercell choice, symmetry-distinct dopant arrangements and Ewald ranking."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from monty.json import MontyDecoder, MontyEncoder
from pymatgen.analysis.ewald import EwaldSummation
from pymatgen.core import Structure

from lpsflow.errors import CompositionError, StructureError
from lpsflow.structures import doping_sites
from lpsflow.structures.accelerant import parse_accelerant
from lpsflow.structures.arrangement_ranking import (
    enumerate_arrangements,
    rank_by_ewald,
    ranked_arrangements,
)
from lpsflow.structures.doping import Arrangement, canonicalize, raw_arrangement_count
from lpsflow.structures.doping_sites import (
    interstitial_sites,
    site_permutations,
    symmetry_operations,
)
from lpsflow.structures.library import data_path
from lpsflow.structures.supercells import choose_supercell

AL = parse_accelerant("Al2S3")  # q = 3
SI = parse_accelerant("SiS2")  # q = 4: Li-site and P-site
SB = parse_accelerant("Sb2S5")  # q = 5: P-site without extra Li


@pytest.fixture(scope="module")
def host() -> Structure:
    return Structure.from_file(data_path("Li3PS4_beta.cif"))


@pytest.fixture(scope="module")
def sc122(host: Structure) -> Structure:
    return host.make_supercell((1, 2, 2), in_place=False)


@pytest.fixture(scope="module")
def al_arrangements(sc122: Structure) -> list[Arrangement]:
    return enumerate_arrangements(sc122, AL, AL.scheme("Li-site"), 1)


def _perms(s: Structure) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rot, trans = symmetry_operations(s)
    labels = [site.specie.symbol for site in s]
    return (
        rot,
        trans,
        site_permutations(s.frac_coords, labels, rot, trans, s.lattice.matrix),
    )


def _burnside(s: Structure, n_vac: int) -> int:
    """Count orbits of (1 dopant, n_vac vacancies) on Li sites by Burnside's lemma."""
    _, _, perms = _perms(s)
    li = [i for i, site in enumerate(s) if site.specie.symbol == "Li"]
    cfg = np.array(
        [
            (d, *v)
            for d in li
            for v in itertools.combinations(sorted(set(li) - {d}), n_vac)
        ]
    )
    fixed = 0
    for perm in perms:
        img = perm[cfg]
        same_d = img[:, 0] == cfg[:, 0]
        same_v = np.all(np.sort(img[:, 1:], axis=1) == cfg[:, 1:], axis=1)
        fixed += int(np.sum(same_d & same_v))
    assert fixed % len(perms) == 0
    return fixed // len(perms)


def _min_distance(s: Structure) -> float:
    d = s.distance_matrix
    return float(d[np.triu_indices(len(s), 1)].min())


# ------------------------------------------------------------------------- supercell
@pytest.mark.parametrize(
    ("x", "cell", "n_m"),
    [
        (1 / 16, (1, 2, 2), 1),
        (1 / 8, (1, 1, 2), 1),
        (1 / 4, (1, 1, 1), 1),
        (1 / 32, (1, 2, 4), 1),
        (3 / 16, (1, 2, 2), 3),
        (0.0625, (1, 2, 2), 1),
    ],
)
def test_choose_supercell(host, x, cell, n_m):
    assert choose_supercell(host, x) == (cell, n_m)


def test_supercell_1_16_is_compact(host):
    cell, _ = choose_supercell(host, 1 / 16)
    sc = host.make_supercell(cell, in_place=False)
    assert len(sc) == 128
    assert np.allclose(sc.lattice.abc, (13.184, 16.265, 12.426), atol=0.01)


def test_incommensurate_x(host):
    with pytest.raises(CompositionError) as err:
        choose_supercell(host, 0.06)
    msg = str(err.value)
    assert "3/50" in msg and "100 formula units" in msg
    assert "1/16 (16 f.u.)" in msg and "3/52 (52 f.u.)" in msg
    with pytest.raises(CompositionError, match="not commensurate"):
        choose_supercell(host, 0.1, supercell=(1, 2, 2))
    with pytest.raises(CompositionError):
        choose_supercell(host, 0.0)


def test_given_supercell(host):
    assert choose_supercell(host, 1 / 16, supercell=(2, 2, 2)) == ((2, 2, 2), 2)


# -------------------------------------------------------------------------- symmetry
def test_group_includes_lattice_translations(host, sc122):
    rot, trans = symmetry_operations(sc122)
    assert len(rot) == 8 * 4  # Pnma point group x 4 primitive cells
    identity = np.all(rot == np.eye(3, dtype=int), axis=(1, 2))
    assert identity.sum() == 4
    pure = np.sort(np.round(trans[identity], 6) % 1, axis=0)
    assert np.allclose(np.unique(pure[:, 1]), [0, 0.5])
    assert np.allclose(np.unique(pure[:, 2]), [0, 0.5])
    assert len(symmetry_operations(host)[0]) == 8


def test_interstitial_sites(host, sc122):
    cand = interstitial_sites(host)
    assert len(cand) == 12  # three 4c orbits on the mirror planes y = 1/4, 3/4
    assert np.allclose(np.abs(cand[:, 1] - 0.5), 0.25)
    dist = host.lattice.get_all_distances(cand, host.frac_coords)
    symbols = np.array([s.specie.symbol for s in host])
    assert dist[:, symbols == "Li"].min() >= doping_sites.INTERSTITIAL_MIN_LI
    assert dist[:, symbols == "P"].min() >= doping_sites.INTERSTITIAL_MIN_CATION
    lo, hi = doping_sites.INTERSTITIAL_S_RANGE
    assert np.all(dist[:, symbols == "S"].min(axis=1) >= lo)
    assert np.all(dist[:, symbols == "S"].min(axis=1) <= hi)
    assert len(interstitial_sites(sc122)) == 48


# ----------------------------------------------------------------------- enumeration
def test_al_one_sixteenth_counts(sc122, al_arrangements):
    raw = raw_arrangement_count(sc122, AL, AL.scheme("Li-site"), 1)
    assert raw == 48 * 47 * 46 // 2 == 51_888
    assert sum(a.multiplicity for a in al_arrangements) == raw
    assert len(al_arrangements) == _burnside(sc122, 2) == 1634
    assert len(set(al_arrangements)) == len(al_arrangements)
    assert all(32 % a.multiplicity == 0 for a in al_arrangements)


@pytest.mark.parametrize(("scheme", "raw"), [("Li-site", 12 * 165), ("P-site", 4 * 12)])
def test_si_quarter_counts(host, scheme, raw):
    arrs = enumerate_arrangements(host, SI, SI.scheme(scheme), 1)
    assert raw_arrangement_count(host, SI, SI.scheme(scheme), 1) == raw
    assert sum(a.multiplicity for a in arrs) == raw
    if scheme == "Li-site":
        assert len(arrs) == _burnside(host, 3)
    else:  # 3 orbits of 4 interstitial sites, each split by the 2 mirror-related P
        assert len(arrs) == 12


def test_si_p_site_one_sixteenth(sc122):
    arrs = enumerate_arrangements(sc122, SI, SI.scheme("P-site"), 1)
    assert sum(a.multiplicity for a in arrs) == 16 * 48
    for a in arrs:
        s = a.apply(sc122, "Si")
        assert s.composition.formula == "Li49 Si1 P15 S64"
        assert _min_distance(s) > 1.5


def test_p_site_without_extra_li(sc122):
    arrs = enumerate_arrangements(sc122, SB, SB.scheme("P-site"), 1)
    assert [(a.dopant_sites, a.multiplicity) for a in arrs] == [((48,), 16)]
    arrs = enumerate_arrangements(sc122, SB, SB.scheme("P-site"), 2)
    assert sum(a.multiplicity for a in arrs) == 16 * 15 // 2


def test_compositions(host, sc122, al_arrangements):
    s = al_arrangements[0].apply(sc122, "Al")
    assert s.composition.formula == "Li45 Al1 P16 S64"
    si_li = enumerate_arrangements(sc122, SI, SI.scheme("Li-site"), 1, keep=3)
    assert si_li[0].apply(sc122, "Si").composition.formula == "Li44 Si1 P16 S64"
    si_p = enumerate_arrangements(host, SI, SI.scheme("P-site"), 1)
    assert si_p[0].apply(host, "Si").composition.formula == "Li13 Si1 P3 S16"


def test_equivalent_arrangements_canonicalise_alike(sc122, al_arrangements):
    _, _, perms = _perms(sc122)
    labels = [s.specie.symbol for s in sc122]
    scheme = AL.scheme("Li-site")
    listed = set(al_arrangements)
    rng = np.random.default_rng(1)
    li = [i for i, s in enumerate(labels) if s == "Li"]
    for _ in range(5):
        d, v1, v2 = (int(i) for i in rng.choice(li, 3, replace=False))
        a = Arrangement((d,), (v1, v2))
        g = int(rng.integers(1, len(perms)))
        b = Arrangement((int(perms[g][d]),), (int(perms[g][v2]), int(perms[g][v1])))
        ca, cb = (canonicalize(x, sc122, AL, scheme) for x in (a, b))
        assert ca == cb and ca in listed
        assert ca.multiplicity == next(x for x in listed if x == ca).multiplicity


def test_canonicalise_with_interstitials(sc122):
    scheme = SI.scheme("P-site")
    arrs = enumerate_arrangements(sc122, SI, scheme, 1)
    rot, trans, perms = _perms(sc122)
    n_checked = 0
    for a, g in itertools.product((arrs[5], arrs[-1]), (7, 30)):
        extra = np.array(a.interstitials) @ rot[g].T + trans[g]
        moved = Arrangement(
            dopant_sites=(int(perms[g][a.dopant_sites[0]]),),
            interstitials=tuple(tuple(float(c) for c in p % 1.0) for p in extra),
        )
        if moved == a:  # g is in the stabiliser
            continue
        n_checked += 1
        assert canonicalize(moved, sc122, SI, scheme) == a
    assert n_checked >= 2


# ------------------------------------------------------------------------ Ewald
@pytest.mark.parametrize(
    ("acc", "scheme"), [(AL, "Li-site"), (AL, "empty-site"), (SI, "P-site")]
)
def test_ewald_quadratic_form_matches_direct(sc122, acc, scheme):
    arrs = enumerate_arrangements(sc122, acc, acc.scheme(scheme), 1)
    ranked = rank_by_ewald(sc122, acc, acc.scheme(scheme), arrs)
    energies = [a.ewald_energy for a in ranked]
    assert energies == sorted(energies)
    oxi = {"Li": 1, "P": 5, "S": -2, acc.cation: acc.oxidation_state}
    for a in [ranked[0], ranked[len(ranked) // 2], ranked[-1]]:
        s = a.apply(sc122, acc.cation)
        s.add_oxidation_state_by_element(oxi)
        assert a.ewald_energy == pytest.approx(EwaldSummation(s).total_energy, abs=1e-6)
    keep = enumerate_arrangements(sc122, acc, acc.scheme(scheme), 1, keep=4)
    assert [a.ewald_energy for a in keep] == pytest.approx(energies[:4])


@pytest.mark.parametrize(
    ("acc", "scheme"), [(AL, "Li-site"), (AL, "empty-site"), (SI, "P-site")]
)
def test_ranked_arrangements_are_the_ranked_enumeration(sc122, acc, scheme):
    def fields(arrs):
        return [(a, a.multiplicity, a.ewald_energy) for a in arrs]

    sch = acc.scheme(scheme)
    arrs = enumerate_arrangements(sc122, acc, sch, 1)
    expected = rank_by_ewald(sc122, acc, sch, arrs)[:6]
    top, n = ranked_arrangements(sc122, acc, sch, 1, keep=6)
    assert n == len(arrs) > 6
    assert fields(top) == fields(expected)  # the same floats, not just close
    kept = enumerate_arrangements(sc122, acc, sch, 1, keep=6)
    assert fields(kept) == fields(expected)
    # where the enumeration samples, the sample ranked
    sample = enumerate_arrangements(sc122, acc, sch, 1, max_enumerate=50, n_starts=9)
    top, n = ranked_arrangements(sc122, acc, sch, 1, 4, 50, n_starts=9)
    assert n == len(sample)
    assert fields(top) == fields(rank_by_ewald(sc122, acc, sch, sample)[:4])


def test_sampling_finds_exhaustive_minimum(sc122, al_arrangements):
    scheme = AL.scheme("Li-site")
    best = rank_by_ewald(sc122, AL, scheme, al_arrangements)[0]
    sampled = enumerate_arrangements(
        sc122, AL, scheme, 1, max_enumerate=1000, n_starts=60
    )
    assert sampled[0] == best
    assert sampled[0].ewald_energy == pytest.approx(best.ewald_energy, abs=1e-6)
    energies = [a.ewald_energy for a in sampled]
    assert energies == sorted(energies)
    assert len(set(sampled)) == len(sampled)
    assert set(sampled) <= set(al_arrangements)


def test_sampling_two_dopants_with_extra_li(sc122):
    scheme = SI.scheme("P-site")
    arrs = enumerate_arrangements(
        sc122, SI, scheme, 2, max_enumerate=1000, keep=5, n_starts=20
    )
    assert 1 <= len(arrs) <= 5
    for a in arrs:
        s = a.apply(sc122, "Si")
        assert s.composition.formula == "Li50 Si2 P14 S64"
        assert _min_distance(s) > 2.0
        assert canonicalize(a, sc122, SI, scheme) == a
    direct = rank_by_ewald(sc122, SI, scheme, arrs)
    assert [a.ewald_energy for a in direct] == pytest.approx(
        [a.ewald_energy for a in arrs], abs=1e-6
    )


# ------------------------------------------------------------------------ apply / IO
def test_apply_on_strained_host(sc122, al_arrangements):
    strained = Structure(sc122.lattice.matrix * 1.02, sc122.species, sc122.frac_coords)
    si_p = enumerate_arrangements(sc122, SI, SI.scheme("P-site"), 1)[:3]
    for a, el in [
        *((x, "Al") for x in al_arrangements[:3]),
        *((x, "Si") for x in si_p),
    ]:
        ref, new = a.apply(sc122, el), a.apply(strained, el)
        assert [s.species_string for s in ref] == [s.species_string for s in new]
        assert np.allclose(ref.frac_coords, new.frac_coords, atol=1e-12)
        assert new.lattice.a == pytest.approx(sc122.lattice.a * 1.02)
        assert _min_distance(ref) > 1.5
    # a "relaxed" host: the applied structure keeps the host's own coordinates
    moved = sc122.copy()
    moved.perturb(0.05)
    a = al_arrangements[0]
    keep = [i for i in range(len(sc122)) if i not in a.vacancy_sites]
    assert np.allclose(a.apply(moved, "Al").frac_coords, moved.frac_coords[keep])


def test_apply_rejects_wrong_site(sc122):
    with pytest.raises(StructureError, match="not Li"):
        Arrangement((0,), (127,)).apply(sc122, "Al")


def test_json_round_trip():
    a = Arrangement((3,), (), ((0.1, 0.2, 0.3),), multiplicity=4, ewald_energy=-1.5)
    b = Arrangement.from_dict(json.loads(json.dumps(a.as_dict())))
    assert b == a and b.multiplicity == 4 and b.ewald_energy == -1.5
    assert isinstance(b.interstitials[0], tuple)
    c = json.loads(json.dumps(a, cls=MontyEncoder), cls=MontyDecoder)
    assert c == a and isinstance(c, Arrangement)
