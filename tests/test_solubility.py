"""Solubility from the hull: energies above the hull of the undoped phases."""

from __future__ import annotations

import pytest

from lpsflow.descriptors.solubility.jobs import solubility_job, solubility_limit
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


def test_solubility_limit_rule():
    assert solubility_limit([(0.25, 30.0), (0.0625, 1.0), (0.125, 10.0)], 25) == 0.125
    assert solubility_limit([(0.0625, 30.0), (0.125, 1.0)], 25) is None
    assert solubility_limit([(0.0625, -5.0), (0.25, 3.0)], 25) == 0.25


def test_energy_above_hull_by_hand():
    refs = [_phase(p, p, e) for p, e in E.items()]
    # Li9AlP4S16 -> 3 Li3PS4 + 1/2 Al2S3 + 1/2 P2S5 (30 atoms), above it by 20 meV
    hull = (3 * 8 * E["Li3PS4"] + 0.5 * 5 * E["Al2S3"] + 0.5 * 7 * E["P2S5"]) / 30
    # Li21AlP8S32 -> 7 Li3PS4 + 1/2 Al2S3 + 1/2 P2S5 (62 atoms), 40 meV below it
    hull8 = (7 * 8 * E["Li3PS4"] + 0.5 * 5 * E["Al2S3"] + 0.5 * 7 * E["P2S5"]) / 62
    series = [
        _phase("core x=1/8", "Li21AlP8S32", hull8 - 0.040, x=0.125),
        _phase("core x=1/4", "Li9AlP4S16", hull + 0.020, x=0.25),
    ]
    doc = solubility_job.original("Al2S3", "Li-site", 10.0, refs, series)
    by_x = {p.x: p for p in doc.points}
    assert by_x[0.25].e_above_hull == pytest.approx(20.0, abs=1e-6)
    assert by_x[0.125].e_above_hull == pytest.approx(-40.0, abs=1e-6)
    assert set(by_x[0.25].decomposition) == {"Li3PS4", "Al2S3", "P2S5"}
    assert by_x[0.25].decomposition["Li3PS4"] == pytest.approx(0.8)  # 24/30 atoms
    assert doc.solubility_limit == 0.125  # 1/4 is 20 meV above, threshold 10
    assert doc.limit_label == "1/8"
    assert doc.converged
    assert doc.hull_phases["Li7P3S11"] > 0  # placed above the hull on purpose


def test_unconverged_point_is_flagged():
    refs = [_phase(p, p, e) for p, e in E.items()]
    series = [_phase("core", "Li9AlP4S16", -4.6, converged=False, x=0.25)]
    doc = solubility_job.original("Al2S3", "Li-site", 25.0, refs, series)
    assert not doc.converged and not doc.points[0].converged
