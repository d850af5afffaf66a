"""Solubility: the free energy of mixing sets the limit (known cases by hand), and
the energies above the hull of the undoped phases beside it."""

from __future__ import annotations

import math

import pytest
from scipy.optimize import brentq

from lpsflow.descriptors.solubility.build import sublattices
from lpsflow.descriptors.solubility.jobs import solubility_job
from lpsflow.descriptors.solubility.mixing import (
    K_B,
    X_MIN,
    bound,
    entropy,
    solubility_limit,
)
from lpsflow.descriptors.solubility.schema import Sublattices
from lpsflow.structures.accelerant import parse_accelerant
from lpsflow.structures.library import load_structure
from phase_inputs import phase_input_of as _phase

#: energies per atom (eV) of the undoped phases; Li7P3S11 placed above the hull
E = {
    "Li2S": -4.10,
    "P2S5": -5.00,
    "S": -4.15,
    "Al2S3": -5.33,
    "Li3PS4": -4.63,
    "Li7P3S11": -4.40,
    "Li4P2S6": -4.69,
}
T = 573.0
LI_SITE_AL = Sublattices(host_sites=3, vacancies=2)


def _root(condition, lo: float, hi: float) -> float:
    """The x in (lo, hi) where ``condition(x)`` (monotone) changes sign."""
    return brentq(condition, lo, hi, xtol=1e-14, rtol=1e-12)


def test_a_monovalent_dopant_follows_the_fermi_like_law():
    """q = 1 on 3 sites per PS4, constant E_sol: dF/dx = 0 at
    x = 3 / (1 + exp(E_sol / kT)), a finite limit far below any x computed."""
    sites = Sublattices(host_sites=3, vacancies=0)
    for e_sol in (0.3, 0.5):
        m = solubility_limit([(0.0625, e_sol), (0.25, e_sol)], sites, T)
        assert not m.at_max and not m.below
        assert m.x == pytest.approx(3 / (1 + math.exp(e_sol / (K_B * T))), rel=1e-4)


def test_closed_forms_of_the_li_site_and_p_site_schemes():
    """Al3+ on Li with two free vacancies (3 sites): E/kT = -ln(x/3) - 2 ln(2x/3)
    + 3 ln(1 - x); Si4+ on P with one extra Li on 3 interstitial sites:
    E/kT = -ln(x/(1-x)) - ln((x/3)/(1-x/3)). Bound defects: the dopant alone."""
    kt, e = K_B * T, 0.6
    al = solubility_limit([(0.0625, e)], LI_SITE_AL, T)
    want = _root(
        lambda x: (
            e / kt + math.log(x / 3) + 2 * math.log(2 * x / 3) - 3 * math.log(1 - x)
        ),
        1e-9,
        0.06,
    )
    assert al.x == pytest.approx(want, rel=1e-4)
    p_site = Sublattices(
        host_sites=1, vacancies=0, interstitials=1, interstitial_sites=3
    )
    si = solubility_limit([(0.0625, e)], p_site, T)
    want = _root(
        lambda x: e / kt + math.log(x / (1 - x)) + math.log((x / 3) / (1 - x / 3)),
        1e-9,
        0.06,
    )
    assert si.x == pytest.approx(want, rel=1e-4)
    # bound defects keep only the dopant's entropy: x = 3 / (1 + exp(E/kT))
    tied = solubility_limit([(0.0625, e)], bound(LI_SITE_AL), T)
    assert tied.x == pytest.approx(3 / (1 + math.exp(e / kt)), rel=1e-4)
    assert tied.x < al.x / 100


def test_the_limit_at_x_max_is_found_for_any_x_max():
    """dF still falling at the largest x: '>= x_max', whatever x_max's float."""
    for x_max in (0.2, 0.09, 1 / 32, 0.25):
        for e_sol in (-0.9, -0.3, -0.05, 0.0):
            m = solubility_limit([(x_max / 2, e_sol), (x_max, e_sol)], LI_SITE_AL, T)
            assert m.at_max and m.x == x_max, (x_max, e_sol)


def test_a_limit_inside_the_series_rests_on_the_points_around_it():
    """E_sol rises with x (dopants repel): dF has its minimum between 1/8 and 1/4."""
    points = [(0.0625, -0.3), (0.125, -0.1), (0.25, 0.4)]
    m = solubility_limit(points, LI_SITE_AL, T)
    assert not m.at_max and 0.125 <= m.x < 0.25


def test_limits_below_the_grid_and_bad_input_are_said():
    deep = solubility_limit([(0.0625, 3.0)], Sublattices(host_sites=3, vacancies=0), T)
    assert deep.below and deep.x == X_MIN
    with pytest.raises(ValueError, match="no finite"):
        solubility_limit([(0.0625, math.nan)], LI_SITE_AL, T)
    with pytest.raises(ValueError, match="outside the scheme"):
        solubility_limit([(1.0, -0.3)], LI_SITE_AL, T)  # 3 defects per PS4 on 3 sites


def test_a_solution_that_orders_at_high_x_has_a_two_phase_range():
    """E_sol falling steeply with x makes dF concave between the points: the lower
    hull skips that range (a dilute solution and the ordered one coexist)."""
    m = solubility_limit([(0.0625, 0.2), (0.25, -0.6)], LI_SITE_AL, T)
    assert m.at_max and m.two_phase
    lo, hi = m.two_phase[-1]
    assert lo < 0.25 and hi == pytest.approx(0.25)
    assert not solubility_limit([(0.0625, 0.6)], LI_SITE_AL, T).two_phase


def test_sublattices_of_each_scheme():
    host = load_structure("Li3PS4")
    al, si = parse_accelerant("Al2S3"), parse_accelerant("SiS2")
    assert sublattices(al.scheme("Li-site"), host) == LI_SITE_AL
    p_site = sublattices(si.scheme("P-site"), host)
    assert (p_site.host_sites, p_site.vacancies, p_site.interstitials) == (1, 0, 1)
    assert p_site.interstitial_sites == 3  # candidate sites per PS4 of beta-Li3PS4


def test_energy_above_hull_and_limit_by_hand():
    refs = [_phase(p, p, e) for p, e in E.items()]
    # Li9AlP4S16 -> 3 Li3PS4 + 1/2 Al2S3 + 1/2 P2S5 (30 atoms), above it by 20 meV
    hull = (3 * 8 * E["Li3PS4"] + 0.5 * 5 * E["Al2S3"] + 0.5 * 7 * E["P2S5"]) / 30
    # Li21AlP8S32 -> 7 Li3PS4 + 1/2 Al2S3 + 1/2 P2S5 (62 atoms), 40 meV below it
    hull8 = (7 * 8 * E["Li3PS4"] + 0.5 * 5 * E["Al2S3"] + 0.5 * 7 * E["P2S5"]) / 62
    series = [
        _phase("core x=1/8", "Li21AlP8S32", hull8 - 0.040, x=0.125),
        _phase("core x=1/4", "Li9AlP4S16", hull + 0.020, x=0.25),
    ]
    doc = solubility_job.original("Al2S3", "Li-site", T, LI_SITE_AL, refs, series)
    by_x = {p.x: p for p in doc.points}
    assert by_x[0.25].e_above_hull == pytest.approx(20.0, abs=1e-6)
    assert by_x[0.125].e_above_hull == pytest.approx(-40.0, abs=1e-6)
    assert set(by_x[0.25].decomposition) == {"Li3PS4", "Al2S3", "P2S5"}
    assert by_x[0.25].decomposition["Li3PS4"] == pytest.approx(0.8)  # 24/30 atoms
    assert doc.converged
    assert doc.hull_phases["Li7P3S11"] > 0  # placed above the hull on purpose
    # the free energy at each x is x E_sol - T S, and each condition has its limit
    for p in doc.points:
        for c, e in p.e_sol.items():
            f = 1000 * (p.x * e - K_B * T * entropy(p.x, LI_SITE_AL))
            assert p.free_energy[c] == pytest.approx(f)
    for c, limit in doc.limits.items():
        pairs = [(p.x, p.e_sol[c]) for p in doc.points]
        free = solubility_limit(pairs, LI_SITE_AL, T)
        tied = solubility_limit(pairs, bound(LI_SITE_AL), T)
        assert (limit.x, limit.at_max) == (free.x, free.at_max)
        assert (limit.x_bound, limit.bound_at_max) == (tied.x, tied.at_max)
        assert limit.x_bound <= limit.x
    assert doc.solubility_limit == doc.limits["Li7P3S11"].x
    assert doc.limit_label == doc.limits["Li7P3S11"].label


def test_unconverged_point_is_flagged():
    refs = [_phase(p, p, e) for p, e in E.items()]
    series = [_phase("core", "Li9AlP4S16", -4.6, converged=False, x=0.25)]
    doc = solubility_job.original("Al2S3", "Li-site", T, LI_SITE_AL, refs, series)
    assert not doc.converged and not doc.points[0].converged
