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

import math
from collections.abc import Sequence
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
    host = _mixing(sites.host_sites, [x, sites.vacancies * x])
    extra = _mixing(sites.interstitial_sites, [sites.interstitials * x])
    return host + extra


def free_energy(
    x: float, points: Sequence[tuple[float, float]], sites: Sublattices, t: float
) -> float:
    """dF(x) per PS4 (eV); ``points``: (x, E_sol per dopant) of the series."""
    xs, es = zip(*sorted(points), strict=True)
    e_sol = float(np.interp(x, xs, es))  # constant below the smallest x
    return x * e_sol - K_B * t * entropy(x, sites)


def solubility_limit(
    points: Sequence[tuple[float, float]], sites: Sublattices, t: float
) -> tuple[float, bool]:
    """(x that minimises dF on (0, x_max], whether it is x_max itself)."""
    x_max = max(x for x, _ in points)
    grid = np.unique(
        np.concatenate([np.logspace(-12, math.log10(x_max), 2000), [x_max]])
    )
    values = np.array([free_energy(x, points, sites, t) for x in grid])
    values = np.where(np.isnan(values), np.inf, values)
    i = int(np.argmin(values))
    if i == len(grid) - 1:
        return x_max, True
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    best = minimize_scalar(
        lambda x: free_energy(x, points, sites, t),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": lo * 1e-6},
    )
    return float(best.x), False
