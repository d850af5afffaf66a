"""A cheap analytic calculator for NEB bookkeeping tests (no MLIP needed)."""

from __future__ import annotations

import numpy as np
from ase.calculators.calculator import Calculator, all_changes


class MoverInCage(Calculator):
    """Born-Mayer repulsion of one atom by all others (force-shifted at rc).

    Only atom ``mover`` feels forces, so the host stays as built.
    """

    implemented_properties = ("energy", "forces")

    def __init__(self, mover: int, a: float = 1000.0, rho: float = 0.3, rc=3.5):
        super().__init__()
        self.mover, self.a, self.rho, self.rc = mover, a, rho, rc

    def calculate(self, atoms=None, properties=None, system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        cell = self.atoms.cell.array
        pos = self.atoms.get_positions()
        d = pos - pos[self.mover]
        frac = np.linalg.solve(cell.T, d.T).T
        frac -= np.rint(frac)
        d = frac @ cell
        r = np.linalg.norm(d, axis=1)
        r[self.mover] = np.inf
        near = r < self.rc
        ec = np.exp(-self.rc / self.rho)
        e = self.a * (
            np.exp(-r[near] / self.rho) - ec + (r[near] - self.rc) * ec / self.rho
        )
        de = self.a * (-np.exp(-r[near] / self.rho) / self.rho + ec / self.rho)
        forces = np.zeros_like(pos)
        # dE/dr_mover = sum de * (r_m - r_j)/r = -de * d/r
        forces[self.mover] = np.sum((de / r[near])[:, None] * d[near], axis=0)
        self.results = {"energy": float(e.sum()), "forces": forces}
