"""The empty-site scheme: M in an empty LiS6 site of beta-Li3PS4, q Li removed."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from monty.json import MontyDecoder, MontyEncoder
from pymatgen.core import Lattice, Structure

from lpsflow.descriptors.solubility.build import sublattices
from lpsflow.descriptors.solubility.mixing import bound, entropy
from lpsflow.errors import CompositionError, StructureError
from lpsflow.structures import doping_sites
from lpsflow.structures.accelerant import parse_accelerant, same_composition
from lpsflow.structures.arrangement_ranking import (
    enumerate_arrangements,
    rank_by_ewald,
)
from lpsflow.structures.doping import Arrangement, canonicalize, raw_arrangement_count
from lpsflow.structures.doping_sites import (
    blocked_li,
    dopant_coordination,
    empty_s6_sites,
    is_s6_octahedron,
    s_shell,
    symmetry_operations,
)
from lpsflow.structures.library import data_path

AL = parse_accelerant("Al2S3")
EMPTY = AL.scheme("empty-site")


@pytest.fixture(scope="module")
def host() -> Structure:
    return Structure.from_file(data_path("Li3PS4_beta.cif"))


# ------------------------------------------------------------------------- the sites
def test_empty_s6_sites_of_beta_li3ps4(host):
    sites = empty_s6_sites(host)
    assert len(sites) == 8  # two 4c orbits: two sites per PS4
    symbols = np.array([s.specie.symbol for s in host])
    dist = host.lattice.get_all_distances(sites, host.frac_coords)
    shells = []
    for k, point in enumerate(sites):
        assert is_s6_octahedron(host, point)
        d = np.linalg.norm(s_shell(host, point), axis=1)
        shells.append(tuple(np.round(d[:6], 2)))
        assert d[6] > 4.0  # six S, then a gap
        assert dist[k, symbols == "P"].min() > 2.8  # no face shared with a PS4
        assert dist[k, symbols == "Li"].min() > 2.0  # empty, not an occupied site
    # a regular S6 octahedron and a 4 + 2 one (like the occupied 4b LiS6 site)
    assert set(shells) == {(2.9, 2.9, 2.9, 2.9, 2.91, 2.91), (2.64,) * 4 + (3.3,) * 2}
    # the regular one has two 8d Li at 2.14 A: they leave with the dopant
    blocked = blocked_li(host, sites)
    assert sorted(len(b) for b in blocked) == [0] * 4 + [2] * 4
    for k, b in enumerate(blocked):
        assert np.all(
            host.lattice.get_all_distances(sites[k], host.frac_coords[b]) < 2.2
        )
    # orbits complete in a supercell: four times the sites in a 1x2x2 cell
    sc = host.make_supercell((1, 2, 2), in_place=False)
    assert len(empty_s6_sites(sc)) == 32


@pytest.mark.parametrize(
    "name",
    ["EMPTY_SITE_SPREAD", "EMPTY_SITE_GAP", "EMPTY_SITE_TRANS_ANGLE",
     "INTERSTITIAL_MIN_CATION", "EMPTY_SITE_BLOCK"],
)  # fmt: skip
@pytest.mark.parametrize("factor", [0.95, 1.05])
def test_sites_do_not_hang_on_a_threshold(host, monkeypatch, name, factor):
    """Each threshold moved by 5% finds the same sites and blocked Li."""
    sites = empty_s6_sites(host)
    blocked = [len(b) for b in blocked_li(host, sites)]
    value = getattr(doping_sites, name)
    monkeypatch.setattr(doping_sites, name, value * factor)
    if name in ("EMPTY_SITE_SPREAD", "EMPTY_SITE_GAP", "EMPTY_SITE_TRANS_ANGLE"):
        defaults = list(doping_sites.is_s6_octahedron.__defaults__)
        defaults[("EMPTY_SITE_SPREAD", "EMPTY_SITE_GAP").index(name)
                 if name != "EMPTY_SITE_TRANS_ANGLE" else 2] *= factor  # fmt: skip
        monkeypatch.setattr(
            doping_sites.is_s6_octahedron, "__defaults__", tuple(defaults)
        )
    moved = empty_s6_sites(host)
    assert np.allclose(moved, sites)
    assert [len(b) for b in blocked_li(host, moved)] == blocked


def test_a_strained_host_keeps_its_sites(host):
    """The criteria are scale-free: a strained (or relaxed) host keeps its sites."""
    sites = empty_s6_sites(host)
    strained = host.copy()
    strained.apply_strain([0.03, -0.02, 0.01])
    moved = empty_s6_sites(strained)
    assert len(moved) == len(sites)
    assert strained.lattice.get_all_distances(moved, sites).min(axis=1).max() < 0.3


def test_s6_means_an_octahedron(host):
    li = [i for i, s in enumerate(host) if s.specie.symbol == "Li"]
    # 8d Li: LiS4 tetrahedron; 4b Li: the LiS6 site of the literature (4 + 2 S)
    assert not is_s6_octahedron(host, host.frac_coords[li[0]])
    assert is_s6_octahedron(host, host.frac_coords[li[8]])
    # antifluorite Li2S: the empty sites are the octahedral voids of the S fcc
    # lattice (4 per cell, six S at a/2), never the tetrahedral Li sites
    a = 5.70
    li2s = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(a), ["Li", "S"], [[0.25, 0.25, 0.25], [0, 0, 0]]
    )
    rot, trans = symmetry_operations(li2s)
    sites = empty_s6_sites(li2s)
    assert len(sites) == 4 and len(rot) == 48 * 4 and len(trans) == len(rot)
    for point in sites:
        shell = np.linalg.norm(s_shell(li2s, point)[:6], axis=1)
        assert shell == pytest.approx([a / 2] * 6, abs=1e-6)
        assert np.allclose(2 * point, np.rint(2 * point))  # (1/2, 0, 0) and images
    # the coordination the results report: LiS4 in Li2S, an Al put on that void: 6
    assert dopant_coordination(li2s) == []
    al = li2s.copy()
    al.append("Al", sites[0])
    assert dopant_coordination(al) == [6]


# ------------------------------------------------------------------ the arrangements
def test_enumeration_counts_every_arrangement(host):
    arrs = enumerate_arrangements(host, AL, EMPTY, 1)
    raw = raw_arrangement_count(host, AL, EMPTY, 1)
    # 4 sites blocking 2 Li (1 more vacancy of 10 Li) + 4 blocking none (3 of 12)
    assert raw == 4 * math.comb(10, 1) + 4 * math.comb(12, 3)
    assert sum(a.multiplicity for a in arrs) == raw
    assert all(len(a.dopant_positions) == 1 and not a.dopant_sites for a in arrs)
    assert all(len(a.vacancy_sites) == 3 for a in arrs)
    sites = empty_s6_sites(host)
    near = dict(zip(map(tuple, sites), blocked_li(host, sites), strict=True))
    for a in arrs:  # the blocked Li are always among the vacancies
        key = min(
            near, key=lambda p: np.linalg.norm(np.subtract(p, a.dopant_positions[0]))
        )
        assert set(near[key].tolist()) <= set(a.vacancy_sites)
    # two dopants (blocked Li shared or not): the counts still add up
    two = enumerate_arrangements(host, AL, EMPTY, 2)
    assert sum(a.multiplicity for a in two) == raw_arrangement_count(host, AL, EMPTY, 2)


def test_applied_cell_has_the_li_site_composition(host):
    arr = rank_by_ewald(host, AL, EMPTY, enumerate_arrangements(host, AL, EMPTY, 1))[0]
    cell = arr.apply(host, "Al")
    li_site = enumerate_arrangements(host, AL, AL.scheme("Li-site"), 1)[0]
    assert cell.composition == li_site.apply(host, "Al").composition
    al = next(s for s in cell if s.specie.symbol == "Al")
    assert np.allclose(al.frac_coords, arr.dopant_positions[0])
    assert is_s6_octahedron(host, al.frac_coords)
    # no Li is left within 2.5 A of the dopant
    near = host.get_sites_in_sphere(al.coords, 2.5)
    assert not [n for n in near if n.specie.symbol == "Li" and n.index not in
                arr.vacancy_sites]  # fmt: skip
    # an arrangement that keeps a blocked Li is refused
    sites = empty_s6_sites(host)
    k = next(i for i, b in enumerate(blocked_li(host, sites)) if len(b))
    kept = Arrangement(
        (),
        tuple(sorted(set(range(12)) - set(blocked_li(host, sites)[k].tolist())))[:3],
        dopant_positions=(tuple(sites[k]),),
    )
    with pytest.raises(CompositionError, match="keeps Li"):
        canonicalize(kept, host, AL, EMPTY)
    assert same_composition("empty-site") == ["empty-site", "Li-site"]
    assert same_composition("P-site") == ["P-site"]


def test_moved_arrangement_canonicalises_to_the_listed_one(host):
    arrs = enumerate_arrangements(host, AL, EMPTY, 1)
    rot, trans = symmetry_operations(host)
    for a in (arrs[3], arrs[-1]):
        for g in (3, 6):
            pos = (np.array(a.dopant_positions) @ rot[g].T + trans[g]) % 1.0
            # vacancies: the Li site each one is mapped onto
            li = host.frac_coords[list(a.vacancy_sites)] @ rot[g].T + trans[g]
            d = host.lattice.get_all_distances(li % 1.0, host.frac_coords)
            moved = Arrangement(
                dopant_sites=(),
                vacancy_sites=tuple(int(i) for i in d.argmin(axis=1)),
                dopant_positions=tuple(tuple(float(c) for c in p) for p in pos),
            )
            canon = canonicalize(moved, host, AL, EMPTY)
            assert canon == a and canon.multiplicity == a.multiplicity


def test_arrangement_documents(host):
    arr = enumerate_arrangements(host, AL, EMPTY, 1)[7]
    back = json.loads(json.dumps(arr, cls=MontyEncoder), cls=MontyDecoder)
    assert back == arr and back.dopant_positions == arr.dopant_positions
    # the other schemes' documents (and the job ids made of them) are unchanged
    li_site = enumerate_arrangements(host, AL, AL.scheme("Li-site"), 1)[0]
    assert "dopant_positions" not in li_site.as_dict()
    # an empty-site arrangement is not a Li-site one
    with pytest.raises(StructureError, match="Li-site"):
        rank_by_ewald(host, AL, AL.scheme("Li-site"), [arr])


# --------------------------------------------------------------------- the entropy
def test_entropy_of_the_empty_site_scheme(host):
    sites = sublattices(EMPTY, host)
    # the site that blocks no Li leaves all three vacancies free: the upper bound
    assert sites.host_sites == 3 and sites.empty_sites == 2 and sites.vacancies == 3

    def mix(n, c):
        return -n * (c * math.log(c) + (1 - c) * math.log(1 - c))

    x = 0.06
    # M on the empty sites (2 per PS4), 3x vacancies on the Li sites (3 per PS4)
    assert entropy(x, sites) == pytest.approx(mix(2, x / 2) + mix(3, x))
    assert entropy(x, bound(sites)) == pytest.approx(mix(2, x / 2))
    # a 1+ dopant cannot enter the site with two blocked Li: only the other
    ag = parse_accelerant("Ag2S")
    one = ag.scheme("empty-site")
    assert one.n_vacancies == 1
    arrs = enumerate_arrangements(host, ag, one, 1)
    assert sum(a.multiplicity for a in arrs) == 4 * 12
