"""ASE's IDPP interpolation with all pair vectors wrapped in one call.

ASE's ``IDPP`` calculator (``ase.mep.neb``) wraps the pair vectors of each atom
into the minimum image with its own ``find_mic`` call: N calls per evaluation,
1.2 s of a hop's interpolation in a 300-atom grain-boundary cell, more than the
band's own overhead. :class:`IDPP` takes the same pair vectors, wraps them with
the same algorithm per atom (ASE's choice: the naive wrap where it is safe for all
of that atom's pairs, the general one otherwise), in two calls for the whole
cell; :func:`idpp_interpolate` is ASE's ``idpp_interpolate`` with it. The images
agree with ASE's to round-off (test).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ase.calculators.calculator import Calculator
from ase.geometry.geometry import general_find_mic, naive_find_mic
from ase.mep.neb import NEB, interpolate
from ase.optimize import MDMin


def pair_vectors(
    positions: np.ndarray, cell: Any, pbc: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-image pair vectors ``D[i, j] = r_j - r_i`` and their lengths.

    As ``ase.geometry.find_mic`` gives them for ``positions - positions[i]``.
    """
    from ase.cell import Cell
    from ase.utils import pbc2pbc

    n = len(positions)
    vectors = (positions[None, :, :] - positions[:, None, :]).reshape(-1, 3)
    cell = Cell(cell)
    pbc = cell.any(1) & pbc2pbc(pbc)
    if not pbc.any():
        return vectors.reshape(n, n, 3), np.linalg.norm(vectors, axis=1).reshape(n, n)
    unsafe = np.ones(n, dtype=bool)
    vmin = np.empty_like(vectors)
    vlen = np.empty(len(vectors))
    if pbc.sum() == 3:
        vmin[:], vlen[:] = naive_find_mic(vectors, cell)
        unsafe = ~(vlen.reshape(n, n) < 0.5 * min(cell.lengths())).all(axis=1)
    if unsafe.any():
        rows = np.repeat(unsafe, n)
        vmin[rows], vlen[rows] = general_find_mic(vectors[rows], cell, pbc=pbc)
    return vmin.reshape(n, n, 3), vlen.reshape(n, n)


class IDPP(Calculator):
    """ASE's image dependent pair potential, pair vectors wrapped at once.

    Smidstrup et al., J. Chem. Phys. 140, 214106 (2014).
    """

    implemented_properties = ["energy", "forces"]

    def __init__(self, target: np.ndarray, mic: bool) -> None:
        super().__init__()
        self.target = target
        self.mic = mic

    def calculate(self, atoms: Any, properties: Any, system_changes: Any) -> None:
        """Energy and forces of the pair potential (as ASE's ``IDPP``)."""
        super().calculate(atoms, properties, system_changes)
        positions = atoms.get_positions()
        if self.mic:
            D, d = pair_vectors(positions, atoms.get_cell(), atoms.get_pbc())
        else:
            D = positions[None, :, :] - positions[:, None, :]
            d = np.sqrt((D**2).sum(2))
        dd = d - self.target
        d.ravel()[:: len(d) + 1] = 1  # avoid dividing by zero
        e = 0.5 * (dd**2 / d**4).sum()
        f = -2 * ((dd * (1 - 2 * dd / d) / d**5)[..., np.newaxis] * D).sum(0)
        self.results = {"energy": e, "forces": f}


def idpp_interpolate(
    band: NEB, fmax: float = 0.1, steps: int = 100, mic: bool = True
) -> None:
    """``band.interpolate(method="idpp", mic=mic)``, with :class:`IDPP`."""
    if band.remove_rotation_and_translation:
        from ase.build import minimize_rotation_and_translation

        minimize_rotation_and_translation(band.images[0], band.images[-1])
    interpolate(band.images, mic=mic)
    first = band.images[0].get_all_distances(mic=mic)
    last = band.images[-1].get_all_distances(mic=mic)
    step = (last - first) / (band.nimages - 1)
    calcs = [image.calc for image in band.images]
    for i, image in enumerate(band.images):
        image.calc = IDPP(first + i * step, mic=mic)
    try:
        with MDMin(band, trajectory=None, logfile=None) as opt:
            opt.run(fmax=fmax, steps=steps)
    finally:
        for image, calc in zip(band.images, calcs, strict=True):
            image.calc = calc
