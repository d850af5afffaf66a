"""Free energy of mixing of a dopant in Li3PS4 and the solubility limit it sets.

Per PS4 formula unit, with the dopant M taken from its sulfide and the Li2S / P2S5
it exchanges at the chemical potentials of a condition (see
:mod:`lpsflow.descriptors.solution_energy.jobs`):

    dF(x) = x E_sol(x) - T S_conf(x),

S_conf the ideal configurational entropy of the dopants, vacancies and extra Li on
their sublattices (site counts per PS4,
:class:`~lpsflow.descriptors.solubility.schema.Sublattices`). The sample is in
equilibrium with the accelerant that is left (fixed mu_M), so the dopant content
it takes up is the x that minimises dF: where adding dopant stops lowering the
free energy against the competing phases (the tangent from the accelerant
reservoir to dF). E_sol(x) is interpolated linearly between the computed x and held
at its most dilute value below them (isolated dopants); above the largest x
nothing is assumed, so a minimum there reads "at least x_max".
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import minimize_scalar

if TYPE_CHECKING:
    from lpsflow.descriptors.solubility.schema import Sublattices

#: Boltzmann constant (eV/K).
K_B = 8.617333262e-5


def _mixing(n_sites: float, amounts: Sequence[float]) -> float:
    """-sum c ln c over species and host of one sublattice, times its sites."""
    if n_sites <= 0 or not any(amounts):
        return 0.0
    fractions = [a / n_sites for a in amounts if a > 0]
    rest = 1.0 - sum(fractions)
    if rest <= 0:
        return math.nan  # more defects than sites: not this scheme's range
    terms = [c * math.log(c) for c in fractions]
    return -n_sites * (sum(terms) + rest * math.log(rest))


def entropy(x: float, sites: Sublattices) -> float:
    """S_conf(x)/k_B per PS4 formula unit."""
    vacancies = sites.vacancies * x
    if sites.empty_sites > 0:  # M on the empty sites, vacancies on the host's
        host = _mixing(sites.host_sites, [vacancies])
        host += _mixing(sites.empty_sites, [x])
    else:
        host = _mixing(sites.host_sites, [x, vacancies])
    extra = _mixing(sites.interstitial_sites, [sites.interstitials * x])
    return host + extra


def free_energy(
    x: float, points: Sequence[tuple[float, float]], sites: Sublattices, t: float
) -> float:
    """dF(x) per PS4 (eV); ``points``: (x, E_sol per dopant) of the series."""
    xs, es = zip(*sorted(points), strict=True)
    e_sol = float(np.interp(x, xs, es))  # constant below the smallest x
    return x * e_sol - K_B * t * entropy(x, sites)


@dataclass(frozen=True)
class Minimum:
    """Where dF is lowest on (0, x_max]."""

    x: float
    """The x of the minimum (``x_max`` at it; :data:`X_MIN` below it)."""
    at_max: bool
    """dF still falls at x_max: the limit is at least x_max."""
    below: bool
    """The minimum lies below :data:`X_MIN`: the limit is smaller than that."""
    two_phase: tuple[tuple[float, float], ...]
    """Ranges of x where dF is not convex: a uniform solution there would split
    into the two ends (the lower hull of dF skips them)."""


#: Smallest x searched (dopants per PS4).
X_MIN = 1e-12


def bound(sites: Sublattices) -> Sublattices:
    """The sublattices with vacancies and extra Li bound to the dopant.

    The complex is one species on the dopant's sublattice (orientations not
    counted): the least entropy, so the lowest limit, against the free defects of
    ``sites`` (the most).
    """
    return sites.model_copy(update={"vacancies": 0.0, "interstitials": 0.0})


def _grid(x_max: float) -> np.ndarray:
    """Log-spaced x from :data:`X_MIN` to exactly ``x_max``."""
    return np.append(
        np.logspace(math.log10(X_MIN), math.log10(x_max), 2000)[:-1], x_max
    )


def _gaps(grid: np.ndarray, values: np.ndarray) -> tuple[tuple[float, float], ...]:
    """X ranges the lower convex hull of (0, 0) and (grid, values) skips."""
    xs, fs = np.concatenate([[0.0], grid]), np.concatenate([[0.0], values])
    hull: list[int] = []
    for i in range(len(xs)):  # monotone chain, lower hull
        while len(hull) >= 2:
            j, k = hull[-2], hull[-1]
            cross = (xs[k] - xs[j]) * (fs[i] - fs[j]) - (fs[k] - fs[j]) * (
                xs[i] - xs[j]
            )
            if cross > 0:
                break
            hull.pop()
        hull.append(i)
    out = []
    for j, k in itertools.pairwise(hull):
        if k > j + 1:
            line = fs[j] + (fs[k] - fs[j]) * (xs[j + 1 : k] - xs[j]) / (xs[k] - xs[j])
            if np.max(fs[j + 1 : k] - line) > 1e-9 and xs[k] > 1.05 * xs[j]:
                out.append((float(xs[j]), float(xs[k])))
    return tuple(out)


def solubility_limit(
    points: Sequence[tuple[float, float]], sites: Sublattices, t: float
) -> Minimum:
    """Where dF(x) (``points``: (x, E_sol per dopant) of the series) is lowest."""
    if not points or not all(math.isfinite(e) for _, e in points):
        raise ValueError(f"no finite solution energies to mix: {list(points)}")
    x_max = max(x for x, _ in points)
    if math.isnan(entropy(x_max, sites)):
        raise ValueError(
            f"x = {x_max:g} puts more defects than sites on a sublattice "
            f"({sites.host_sites:g} per PS4): outside the scheme's range"
        )
    grid = _grid(x_max)
    values = np.array([free_energy(x, points, sites, t) for x in grid])
    gaps = _gaps(grid, values)
    i = int(np.argmin(values))
    if i == len(grid) - 1:
        return Minimum(x_max, True, False, gaps)
    if i == 0:
        return Minimum(X_MIN, False, True, gaps)
    lo, hi = grid[i - 1], grid[i + 1]
    best = minimize_scalar(
        lambda x: free_energy(x, points, sites, t),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": lo * 1e-6},
    )
    x = float(best.x)
    node = min((p for p, _ in points), key=lambda p: abs(p - x))
    if abs(node - x) < 1e-6 * node:  # at a kink of E_sol(x): a computed x itself
        x = node
    return Minimum(x, False, False, gaps)
