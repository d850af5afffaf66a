"""The cell filter of the MLIP relaxations: ASE's numbers (to round-off), computed
once per step."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.filters import FrechetCellFilter
from atomate2.ase.utils import AseRelaxer

from lpsflow.calculators.cell_filter import OnceFrechetCellFilter, logm3


def _relax(cell_filter):
    atoms = bulk("Cu", cubic=True).repeat(2)
    atoms.rattle(0.05, seed=1)
    atoms.set_cell(atoms.cell.array * 1.03, scale_atoms=True)
    relaxer = AseRelaxer(calculator=EMT(), optimizer="LBFGS", relax_cell=True)
    result = relaxer.relax(
        atoms, fmax=0.01, steps=200, cell_filter=cell_filter,
        final_atoms_object_file=None, use_emmet_models=True,
    )  # fmt: skip
    return result


def test_once_filter_gives_ases_relaxation():
    ase = _relax(FrechetCellFilter)
    once = _relax(OnceFrechetCellFilter)
    assert ase.converged and once.converged
    steps = len(ase.trajectory)
    assert steps > 5 and len(once.trajectory) == steps  # the same path
    assert once.final_energy == pytest.approx(ase.final_energy, abs=1e-10)
    np.testing.assert_allclose(
        once.final_mol_or_struct.lattice.matrix,
        ase.final_mol_or_struct.lattice.matrix,
        atol=1e-9,
    )
    np.testing.assert_allclose(
        once.final_mol_or_struct.cart_coords,
        ase.final_mol_or_struct.cart_coords,
        atol=1e-9,
    )
    assert ase.final_mol_or_struct.volume != pytest.approx(
        bulk("Cu", cubic=True).repeat(2).get_volume() * 1.03**3, rel=1e-3
    )  # the cell did relax


def test_once_filter_recomputes_after_a_move(monkeypatch):
    atoms = bulk("Cu", cubic=True).repeat(2)
    atoms.rattle(0.05, seed=2)
    atoms.calc = EMT()
    once, ase = OnceFrechetCellFilter(atoms), FrechetCellFilter(atoms)
    first = once.get_forces()
    monkeypatch.setattr(once._utility, "logm", None)  # computing again would fail
    np.testing.assert_array_equal(once.get_forces(), first)
    monkeypatch.undo()
    atoms.positions[0] += 0.05
    moved = once.get_forces()
    assert not np.array_equal(moved, first)
    np.testing.assert_allclose(moved, ase.get_forces(), rtol=1e-12, atol=1e-12)
    atoms.set_cell(atoms.cell.array * 1.01, scale_atoms=True)
    np.testing.assert_allclose(once.get_forces(), ase.get_forces(), atol=1e-12)
    np.testing.assert_allclose(once.stress, ase.stress, atol=1e-12)


def test_logm3_is_scipys_logarithm():
    from scipy.linalg import expm, logm

    rng = np.random.default_rng(7)
    for scale in (1.0, 32.0, 348.0):  # the filter takes logm of N x F
        for spread in (1e-6, 0.01, 0.1):
            m = scale * (np.eye(3) + rng.normal(0.0, spread, (3, 3)))
            ours = logm3(m)
            np.testing.assert_allclose(ours, logm(m), rtol=1e-12, atol=1e-13)
            np.testing.assert_allclose(expm(ours), m, rtol=1e-12)
    np.testing.assert_array_equal(logm3(np.eye(3)), np.zeros((3, 3)))
    far = np.array([[1.0, 3.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])  # scipy's
    np.testing.assert_allclose(logm3(far), logm(far), atol=1e-12)
    flip = np.diag([-1.0, -1.0, 1.0])  # det > 0, far from a scaled identity
    np.testing.assert_allclose(expm(logm3(flip)), flip, atol=1e-12)
