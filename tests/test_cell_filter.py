"""The cell filter of the MLIP relaxations: ASE's numbers, computed once per step."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.filters import FrechetCellFilter
from atomate2.ase.utils import AseRelaxer

from lpsflow.calculators.cell_filter import OnceFrechetCellFilter


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
    assert once.final_energy == ase.final_energy
    np.testing.assert_array_equal(
        once.final_mol_or_struct.lattice.matrix, ase.final_mol_or_struct.lattice.matrix
    )
    np.testing.assert_array_equal(
        once.final_mol_or_struct.cart_coords, ase.final_mol_or_struct.cart_coords
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
    np.testing.assert_array_equal(moved, ase.get_forces())
    atoms.set_cell(atoms.cell.array * 1.01, scale_atoms=True)
    np.testing.assert_array_equal(once.get_forces(), ase.get_forces())
    np.testing.assert_array_equal(once.stress, ase.stress)
