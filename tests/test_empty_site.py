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
from lpsflow.errors import StructureError
from lpsflow.structures.accelerant import parse_accelerant, same_composition
from lpsflow.structures.arrangement_ranking import (
    enumerate_arrangements,
    rank_by_ewald,
)
from lpsflow.structures.doping import Arrangement, canonicalize, raw_arrangement_count
from lpsflow.structures.doping_sites import (
    empty_s6_sites,
    interstitial_sites,
    is_s6_octahedron,
    s6_shell,
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
    assert len(sites) == 4  # one orbit, one site per PS4
    symbols = np.array([s.specie.symbol for s in host])
    dist = host.lattice.get_all_distances(sites, host.frac_coords)
    for k, point in enumerate(sites):
        assert is_s6_octahedron(host, point)
        shell = np.linalg.norm(s6_shell(host, point), axis=1)
        assert len(shell) == 6 and np.all((shell > 2.85) & (shell < 2.95))
        assert dist[k, symbols == "P"].min() > 2.8  # no face shared with a PS4
        assert dist[k, symbols == "Li"].min() > 2.0  # empty, not an occupied site
    # not the extra-Li interstitials of the P-site scheme (tetrahedral voids)
    extra = interstitial_sites(host)
    assert host.lattice.get_all_distances(sites, extra).min() > 1.0
    # orbits complete in a supercell: four times the sites in a 1x2x2 cell
    sc = host.make_supercell((1, 2, 2), in_place=False)
    assert len(empty_s6_sites(sc)) == 16


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
        shell = np.linalg.norm(s6_shell(li2s, point), axis=1)
        assert shell == pytest.approx([a / 2] * 6, abs=1e-6)
        assert np.allclose(2 * point, np.rint(2 * point))  # (1/2, 0, 0) and images


# ------------------------------------------------------------------ the arrangements
def test_enumeration_counts_every_arrangement(host):
    arrs = enumerate_arrangements(host, AL, EMPTY, 1)
    raw = raw_arrangement_count(host, AL, EMPTY, 1)
    assert raw == 4 * math.comb(12, 3)  # 4 empty sites x 3 of 12 Li
    assert sum(a.multiplicity for a in arrs) == raw
    assert all(len(a.dopant_positions) == 1 and not a.dopant_sites for a in arrs)
    assert all(len(a.vacancy_sites) == 3 for a in arrs)


def test_applied_cell_has_the_li_site_composition(host):
    arr = rank_by_ewald(host, AL, EMPTY, enumerate_arrangements(host, AL, EMPTY, 1))[0]
    cell = arr.apply(host, "Al")
    li_site = enumerate_arrangements(host, AL, AL.scheme("Li-site"), 1)[0]
    assert cell.composition == li_site.apply(host, "Al").composition
    al = next(s for s in cell if s.specie.symbol == "Al")
    assert np.allclose(al.frac_coords, arr.dopant_positions[0])
    assert is_s6_octahedron(host, al.frac_coords)
    # the lowest point-charge energy removes the Li nearest the dopant
    near = host.get_sites_in_sphere(al.coords, 2.3)
    assert not [n for n in near if n.specie.symbol == "Li" and n.index not in
                arr.vacancy_sites]  # fmt: skip
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
    assert sites.host_sites == 3 and sites.empty_sites == 1 and sites.vacancies == 3

    def mix(n, c):
        return -n * (c * math.log(c) + (1 - c) * math.log(1 - c))

    x = 0.06
    # M on the empty sites (1 per PS4), 3x vacancies on the Li sites (3 per PS4)
    assert entropy(x, sites) == pytest.approx(mix(1, x) + mix(3, x))
    assert entropy(x, bound(sites)) == pytest.approx(mix(1, x))
