"""lpsflow's IDPP interpolation gives ASE's images."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.geometry import find_mic
from ase.mep.neb import NEB

from lpsflow.structures.idpp import general_mic, idpp_interpolate, pair_vectors


def _ends(repeat: tuple[int, int, int]):
    start = bulk("NaCl", "rocksalt", a=5.6, cubic=True).repeat(repeat)
    start.rattle(0.05, seed=5)
    end = start.copy()
    end.positions[0] += [2.5, 2.5, 0.0]  # an ion hops past a neighbour
    end.wrap()
    return start, end


@pytest.mark.parametrize("repeat", [(2, 2, 2), (1, 1, 4)])  # cube, long cell
def test_pair_vectors_are_ases_minimum_images(repeat):
    start, _ = _ends(repeat)
    pos = start.positions
    vectors, lengths = pair_vectors(pos, start.cell, start.pbc)
    for i in range(len(pos)):
        expected, expected_len = find_mic(pos - pos[i], start.cell, start.pbc)
        np.testing.assert_allclose(vectors[i], expected, atol=1e-12)
        np.testing.assert_allclose(lengths[i], expected_len, atol=1e-12)


@pytest.mark.parametrize("repeat", [(2, 2, 2), (1, 1, 4)])
def test_idpp_images_are_ases(repeat):
    start, end = _ends(repeat)

    def band() -> NEB:
        images = [start.copy(), *(start.copy() for _ in range(3)), end.copy()]
        return NEB(images, method="improvedtangent")

    ase, ours, linear = band(), band(), band()
    ase.interpolate(method="idpp", mic=True)
    idpp_interpolate(ours)
    linear.interpolate(mic=True)
    moved = max(
        np.abs(a.positions - b.positions).max()
        for a, b in zip(ase.images, linear.images, strict=True)
    )
    assert moved > 1e-3  # IDPP moved the images off the straight line
    for a, b in zip(ase.images, ours.images, strict=True):
        np.testing.assert_allclose(b.positions, a.positions, atol=1e-10)
        assert b.calc is a.calc  # the images' own calculators are back


def test_general_mic_is_ases():
    from ase.geometry.geometry import general_find_mic

    rng = np.random.default_rng(11)
    cell = np.array([[9.0, 0.0, 0.0], [4.1, 7.5, 0.0], [1.3, -2.2, 31.0]])  # skewed
    vectors = rng.uniform(-40.0, 40.0, (3000, 3))
    for pbc in (np.array([True] * 3), np.array([True, True, False])):
        ours, ours_len = general_mic(vectors, cell, pbc)
        ase, ase_len = general_find_mic(vectors, cell, pbc=pbc)
        np.testing.assert_allclose(ours, ase, atol=1e-12)
        np.testing.assert_allclose(ours_len, ase_len, atol=1e-12)
