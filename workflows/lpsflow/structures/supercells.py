"""The host supercell that holds a doping level x with whole dopants.

The smallest, most compact diagonal cell (:func:`choose_supercell`).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from pymatgen.core import Structure

from lpsflow.errors import CompositionError

#: Largest number of formula units :func:`choose_supercell` considers.
MAX_FORMULA_UNITS = 64


Cell = tuple[int, int, int]


# --------------------------------------------------------------------------- supercell
def choose_supercell(
    host: Structure,
    x: float,
    n_fu_host: int = 4,
    supercell: Cell | None = None,
) -> tuple[Cell, int]:
    """Pick the diagonal supercell and dopant count for doping level ``x``.

    ``x`` is dopants per formula unit, so ``n_M / (n_fu_host * na * nb * nc) == x``
    (to 1e-6). Without ``supercell`` the smallest commensurate cell (at most
    :data:`MAX_FORMULA_UNITS` formula units) is taken and, among its diagonal
    factorisations, the most compact one: longest shortest edge, then smallest spread
    of edge lengths. For beta-Li3PS4 and x = 1/16 that is (1, 2, 2) with one dopant.
    Raises :class:`CompositionError` if ``x`` fits no such cell or the given one.
    """
    if not 0 < x <= 1:
        raise CompositionError(f"doping level x={x:g} must lie in (0, 1]")
    if supercell is not None:
        cell = tuple(int(n) for n in supercell)
        if len(cell) != 3 or min(cell) < 1:
            raise CompositionError(f"supercell {supercell} is not three positive ints")
        n_fu = n_fu_host * math.prod(cell)
        n_m = _dopant_count(x, n_fu)
        if n_m is None:
            raise CompositionError(
                f"x={x:g} is not commensurate with the {'x'.join(map(str, cell))} "
                f"supercell ({n_fu} f.u.: x*n_fu = {x * n_fu:.4g} dopants)"
            )
        return (cell[0], cell[1], cell[2]), n_m
    max_cells = MAX_FORMULA_UNITS // n_fu_host
    for n_cells in range(1, max_cells + 1):
        n_m = _dopant_count(x, n_fu_host * n_cells)
        if n_m is None:
            continue
        abc = np.asarray(host.lattice.abc)

        def score(c: Cell, abc: np.ndarray = abc) -> tuple[float, float]:
            lengths = abc * np.asarray(c)
            return (-round(lengths.min(), 6), round(lengths.max() - lengths.min(), 6))

        return min(_factorisations(n_cells), key=score), n_m
    raise CompositionError(_incommensurate_message(x, n_fu_host, max_cells))


def _dopant_count(x: float, n_fu: int) -> int | None:
    n = x * n_fu
    n_int = round(n)
    return n_int if n_int >= 1 and abs(n - n_int) < 1e-6 else None


def _factorisations(n: int) -> list[Cell]:
    return [
        (a, b, n // (a * b))
        for a in range(1, n + 1)
        if n % a == 0
        for b in range(1, n // a + 1)
        if (n // a) % b == 0
    ]


def _incommensurate_message(x: float, n_fu_host: int, max_cells: int) -> str:
    best: dict[Fraction, int] = {}
    for n_cells in range(1, max_cells + 1):
        n_fu = n_fu_host * n_cells
        for k in range(1, n_fu + 1):
            best.setdefault(Fraction(k, n_fu), n_fu)
    nearest = sorted(best, key=lambda f: (abs(float(f) - x), best[f]))[:3]
    listing = ", ".join(f"{f} ({best[f]} f.u.)" for f in nearest)
    frac = Fraction(x).limit_denominator(10**6)
    if abs(float(frac) - x) < 1e-9:
        need = math.lcm(frac.denominator, n_fu_host)
        head = f"x={x:g} = {frac} needs {need} formula units"
    else:
        head = f"x={x:g} is not a ratio of small integers and needs a huge cell"
    return (
        f"{head} (cells are multiples of {n_fu_host} f.u., at most "
        f"{n_fu_host * max_cells}); nearest commensurate x: {listing}"
    )
