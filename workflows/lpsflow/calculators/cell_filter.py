"""ASE's FrechetCellFilter with its generalised forces computed once per geometry.

ASE's optimisers ask for the gradient three times per step (log, convergence test,
step). The calculator returns its cached results, but ``FrechetCellFilter``
recomputes its cell gradient each time: a matrix logarithm and a Frechet
derivative of the matrix exponential, 3 ms per call. For a 59-step relaxation of
a 126-atom cell that was 0.4 s outside the model, 3 % of the job. This filter
keeps the last result while positions and cell stay the same: the same numbers,
once. atomate2's relaxation takes it as ``relax_kwargs["cell_filter"]``.

Its matrix logarithms (of the deformation gradient, twice a step) are taken by
:func:`logm3` instead of scipy's general ``logm`` (2 ms each, more than the rest
of the step outside the model for a 30-atom cell): the cells of a relaxation are
near a scaled identity, where a short series is exact to round-off.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ase.filters import FrechetCellFilter


class OnceFrechetCellFilter(FrechetCellFilter):
    """``FrechetCellFilter`` whose ``get_forces`` is computed once per geometry."""

    def __init__(self, atoms: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(atoms, *args, **kwargs)
        self._last: tuple[bytes, np.ndarray, Any] | None = None
        self._utility.logm = logm3

    def get_forces(self, **kwargs: Any) -> np.ndarray:
        """Forces on atoms and cell (ASE's), reused while nothing moved."""
        key = b"".join(
            (
                self.atoms.positions.tobytes(),
                np.asarray(self.atoms.cell.array).tobytes(),
                repr(sorted(kwargs.items())).encode(),
            )
        )
        if self._last is None or self._last[0] != key:
            forces = super().get_forces(**kwargs)
            self._last = (key, forces.copy(), self.stress.copy())
        self.stress = self._last[2].copy()
        return self._last[1].copy()


def logm3(matrix: np.ndarray) -> np.ndarray:
    """Principal logarithm of a real 3x3 matrix near a positive multiple of I.

    ``M = s (I + X)`` with ``s = det(M)^(1/3)``; ``log M = log(s) I + log(I + X)``
    and ``log(I + X) = 2 artanh(Y)``, ``Y = X (2I + X)^-1``, summed as
    ``2 (Y + Y^3/3 + Y^5/5 + ...)`` until the terms fall below round-off
    (``|Y| <= 1/3``). Falls back to scipy's ``logm`` for matrices further from a
    scaled identity (``|X| > 0.5``: 50 % strain) or with ``det <= 0``.
    """
    from scipy.linalg import logm

    m = np.asarray(matrix, dtype=float)
    det = np.linalg.det(m) if m.shape == (3, 3) else 0.0
    if det <= 0:
        return logm(m)
    s = np.cbrt(det)
    eye = np.eye(3)
    x = m / s - eye
    if np.linalg.norm(x, 2) > 0.5:
        return logm(m)
    y = np.linalg.solve((2 * eye + x).T, x.T).T  # X (2I + X)^-1 (they commute)
    y2 = y @ y
    term, total, k = y, y.copy(), 1
    while np.abs(term).max() > 1e-17 * max(np.abs(total).max(), 1e-300) and k < 99:
        term = term @ y2
        k += 2
        total += term / k
    return np.log(s) * eye + 2 * total
