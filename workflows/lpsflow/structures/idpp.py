"""ASE's IDPP interpolation with all pair vectors wrapped in one call.

ASE's ``IDPP`` calculator (``ase.mep.neb``) wraps the pair vectors of each atom
into the minimum image with its own ``find_mic`` call: N calls per evaluation,
1.2 s of a hop's interpolation in a 300-atom grain-boundary cell, more than the
band's own overhead. :class:`IDPP` takes the same pair vectors, wraps them with
the same algorithm per atom (ASE's choice: the naive wrap where it is safe for all
of that atom's pairs, the general one otherwise), in two calls for the whole
cell, the general one choosing each vector's image from squared lengths by one
matrix product (:func:`general_mic`); :func:`idpp_interpolate` is ASE's
``idpp_interpolate`` with it. The images agree with ASE's to round-off (test):
1.05 -> 0.28 s for a hop in a 264-atom hetero-GB cell.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from ase.calculators.calculator import Calculator
from ase.cell import Cell
from ase.geometry import complete_cell, wrap_positions
from ase.geometry.geometry import naive_find_mic
from ase.geometry.minkowski_reduction import minkowski_reduce
from ase.mep.neb import NEB, interpolate
from ase.optimize import MDMin
from ase.utils import pbc2pbc


def pair_vectors(
    positions: np.ndarray, cell: Any, pbc: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-image pair vectors ``D[i, j] = r_j - r_i`` and their lengths.

    As ``ase.geometry.find_mic`` gives them for ``positions - positions[i]``.
    """
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
        vmin[rows], vlen[rows] = general_mic(vectors[rows], cell, pbc)
    return vmin.reshape(n, n, 3), vlen.reshape(n, n)


def general_mic(
    vectors: np.ndarray, cell: Any, pbc: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``ase.geometry.geometry.general_find_mic``, its candidate picked by a product.

    ASE forms every vector plus each of the 28 candidate translations and takes
    the norms of all (28 x N x 3 arrays); here the squared lengths come from one
    matrix product and only the chosen images are formed, with ASE's arithmetic.
    """
    cell = complete_cell(cell)
    rcell, _ = minkowski_reduce(cell, pbc=pbc)
    positions = wrap_positions(vectors, rcell, pbc=pbc, eps=0)
    ranges = [np.arange(-1 * p, p + 1) for p in pbc]
    hkls = np.array([(0, 0, 0), *itertools.product(*ranges)])
    vrvecs = hkls @ rcell
    sq = (
        (positions**2).sum(1)[:, None]
        + 2 * positions @ vrvecs.T
        + (vrvecs**2).sum(1)[None, :]
    )
    vmin = positions + vrvecs[np.argmin(sq, axis=1)]
    return vmin, np.linalg.norm(vmin, axis=1)


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
