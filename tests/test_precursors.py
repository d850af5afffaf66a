"""The bundled P4S10 and Ga2S3 files and the builders that made them (no relaxation)."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from lpsflow.structures.library import data_path, load_structure
from lpsflow.structures.precursors import (
    GA2S3_CELL,
    P4S10_BOND_BRIDGING,
    P4S10_BOND_TERMINAL,
    P4S10_CELL,
    build_ga2s3,
    build_p4s10,
    p4s10_molecule,
)


def _neighbours(struct: Structure, index: int, element: str, cutoff: float) -> list:
    return [
        n
        for n in struct.get_neighbors(struct[index], cutoff)
        if n.specie.symbol == element
    ]


def _indices(struct: Structure, element: str) -> list[int]:
    return [i for i, s in enumerate(struct) if s.specie.symbol == element]


def _space_group(struct: Structure, symprec: float = 0.1) -> str:
    return SpacegroupAnalyzer(struct, symprec=symprec).get_space_group_symbol()


def _check_p4s10(struct: Structure) -> None:
    assert struct.composition.reduced_formula == "P2S5"
    assert len(struct) == 28
    for i in _indices(struct, "P"):
        assert len(_neighbours(struct, i, "S", 2.3)) == 4
        assert not _neighbours(struct, i, "P", 2.5)
    for i in _indices(struct, "S"):
        assert not _neighbours(struct, i, "S", 2.3)
        assert len(_neighbours(struct, i, "P", 2.3)) in (1, 2)  # terminal, bridging
    n_bridging = sum(
        len(_neighbours(struct, i, "P", 2.3)) == 2 for i in _indices(struct, "S")
    )
    assert n_bridging == 12  # six per cage
    assert _space_group(struct) == "P-1"


def _check_ga2s3(struct: Structure) -> None:
    assert struct.composition.reduced_formula == "Ga2S3"
    assert len(struct) in (10, 20)
    for i in _indices(struct, "Ga"):
        assert len(_neighbours(struct, i, "S", 2.6)) == 4
        assert not _neighbours(struct, i, "Ga", 2.9)
    for i in _indices(struct, "S"):
        assert len(_neighbours(struct, i, "Ga", 2.6)) in (2, 3)
    assert _space_group(struct) == "Cc"


@pytest.fixture(scope="module")
def p4s10_file() -> Structure:
    return Structure.from_file(data_path("P4S10_P-1.cif"))


@pytest.fixture(scope="module")
def ga2s3_file() -> Structure:
    return Structure.from_file(data_path("Ga2S3_Cc.cif"))


def test_bundled_p4s10(p4s10_file: Structure) -> None:
    _check_p4s10(p4s10_file)
    assert 1.6 < p4s10_file.density < 2.4  # experiment 2.09 g/cm^3


def test_bundled_ga2s3(ga2s3_file: Structure) -> None:
    _check_ga2s3(ga2s3_file)
    assert 3.2 < ga2s3_file.density < 3.9  # experiment about 3.65 g/cm^3


def test_bundled_files_load_through_library() -> None:
    assert load_structure("P2S5").composition.reduced_formula == "P2S5"
    assert load_structure("P4S10").composition.reduced_formula == "P2S5"
    assert load_structure("Ga2S3").composition.reduced_formula == "Ga2S3"


def test_p4s10_molecule_is_the_td_cage() -> None:
    species, xyz = p4s10_molecule()
    assert species.count("P") == 4 and species.count("S") == 10
    assert np.allclose(xyz.mean(axis=0), 0.0, atol=1e-12)
    d = np.linalg.norm(xyz[:, None] - xyz[None], axis=-1)
    p_s = d[:4, 4:]
    assert np.isclose(np.sort(p_s, axis=1)[:, 1:4], P4S10_BOND_BRIDGING).all()
    assert np.isclose(p_s.min(axis=1), P4S10_BOND_TERMINAL).all()


def test_build_p4s10_matches_published_cell() -> None:
    struct = build_p4s10()
    _check_p4s10(struct)
    assert _space_group(struct, symprec=0.01) == "P-1"
    assert np.allclose(struct.lattice.abc, P4S10_CELL[:3], atol=1e-6)
    assert np.allclose(struct.lattice.angles, P4S10_CELL[3:], atol=1e-6)
    assert struct.density == pytest.approx(2.115, abs=0.01)
    assert _shortest_intermolecular(struct) >= 3.3


def _shortest_intermolecular(struct: Structure) -> float:
    """Shortest contact that is neither a bond nor two atoms bonded to one atom."""
    shortest = np.inf
    for site in struct:
        bonded = [n.coords for n in struct.get_neighbors(site, 2.3)]
        for n in struct.get_neighbors(site, 4.5):
            if n.nn_distance < 2.3:
                continue
            if not any(np.linalg.norm(n.coords - b) < 2.3 for b in bonded):
                shortest = min(shortest, n.nn_distance)
    return float(shortest)


def test_build_ga2s3_matches_published_cell() -> None:
    struct = build_ga2s3()
    _check_ga2s3(struct)
    assert len(struct) == 20
    assert _space_group(struct, symprec=0.01) == "Cc"
    a, b, c, beta = GA2S3_CELL
    assert np.allclose(struct.lattice.abc, (a, b, c), atol=1e-6)
    assert np.allclose(struct.lattice.angles, (90.0, beta, 90.0), atol=1e-6)
    prim = SpacegroupAnalyzer(struct, symprec=0.01).find_primitive()
    assert len(prim) == 10
    n_two = sum(
        len(_neighbours(struct, i, "Ga", 2.6)) == 2 for i in _indices(struct, "S")
    )
    assert n_two == 4  # one S site in three is two-coordinated
