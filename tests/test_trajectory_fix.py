"""atomate2's task documents take one frame, not all, for the input structure."""

from __future__ import annotations

import numpy as np
from ase.build import bulk
from ase.calculators.emt import EMT
from atomate2.ase.utils import AseRelaxer
from emmet.core.trajectory import AtomTrajectory

import lpsflow.calculators.mlip  # noqa: F401  (applies the fix, as the makers do)
from lpsflow.calculators import trajectory_fix


def _trajectory() -> AtomTrajectory:
    atoms = bulk("Cu", cubic=True).repeat(2)
    atoms.rattle(0.1, seed=4)
    relaxer = AseRelaxer(calculator=EMT(), optimizer="LBFGS", relax_cell=False)
    result = relaxer.relax(
        atoms, fmax=0.01, steps=50, final_atoms_object_file=None,
        use_emmet_models=True,
    )  # fmt: skip
    assert isinstance(result.trajectory, AtomTrajectory)
    assert len(result.trajectory) > 3  # several frames: the test can fail
    return result.trajectory


def test_index_zero_builds_one_frame():
    traj = _trajectory()
    first = traj.to_pmg(frame_props=(), indices=0)
    assert len(first) == 1  # emmet's own to_pmg builds every frame for 0
    whole = traj.to_pmg(frame_props=())
    assert len(whole) == len(traj)
    assert first[0] == whole[0]
    np.testing.assert_array_equal(first[0].cart_coords, whole[0].cart_coords)
    last = traj.to_pmg(frame_props=(), indices=-1)
    assert len(last) == 1 and last[0] == whole[-1]
    assert len(traj.to_pmg(frame_props=(), indices=[0, 2])) == 2


def test_the_fix_is_applied_once():
    wrapped = AtomTrajectory.to_pmg
    trajectory_fix.apply()
    assert AtomTrajectory.to_pmg is wrapped
    assert wrapped._lpsflow_one_frame
