"""ASE's FrechetCellFilter with its generalised forces computed once per geometry.

ASE's optimisers ask for the gradient three times per step (log, convergence test,
step). The calculator returns its cached results, but ``FrechetCellFilter``
recomputes its cell gradient each time: a matrix logarithm and a Frechet
derivative of the matrix exponential, 3 ms per call. For a 59-step relaxation of
a 126-atom cell that was 0.4 s outside the model, 3 % of the job. This filter
keeps the last result while positions and cell stay the same: the same numbers,
once. atomate2's relaxation takes it as ``relax_kwargs["cell_filter"]``.
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
