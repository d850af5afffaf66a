"""Descriptors as statistics: value, spread, sample count, and three-valued verdicts.

Pure logic on hand-made documents and rows; the readers are the descriptors' own
(``read.py``), given documents shaped as their jobs write them.
"""

from __future__ import annotations

import math

import pytest

from lpsflow import roles
from lpsflow.descriptors import spread
from lpsflow.descriptors.base import RowContext
from lpsflow.descriptors.binding.read import columns as binding_columns
from lpsflow.descriptors.migration.read import hops_sample, percolation_sample
from lpsflow.descriptors.mu_li.read import columns as mu_li_columns
from lpsflow.descriptors.reactions.read import columns as reaction_columns
from lpsflow.descriptors.spread import Sample, decide, lowest
from lpsflow.roles import Role


def test_lowest_and_difference():
    assert lowest([0.3, None, 0.1, 0.25, math.nan]) == Sample(
        0.1, pytest.approx(0.15), 3
    )
    assert lowest([0.2]) == Sample(0.2, None, 1)  # one sample: spread unknown
    assert lowest([]) == spread.NONE
    d = spread.difference(Sample(1.0, 0.1, 2), Sample(0.4, 0.0, 1))
    assert d == Sample(pytest.approx(0.6), pytest.approx(0.1), 2)
    assert spread.difference(Sample(1.0, None, 1), Sample(0.4, 0.0, 1)).spread is None
    assert Sample(1.0, 0.1, 2).scaled(-3.0) == Sample(-3.0, pytest.approx(0.3), 2)
    # two starts relaxing into one state count once: no distinct second sample
    assert lowest([0.1, 0.1002, 0.3], tol=1e-3) == Sample(0.1, pytest.approx(0.2), 2)
    assert lowest([0.1, 0.1002], tol=1e-3) == Sample(0.1, None, 1)


def test_decide_inside_outside_and_unknown():
    row = {"a": 1.0, "a_spread": 0.05, "a_samples": 3, "b": 0.9, "b_spread": 0.0}
    status, reason = decide(True, 0.1, row, ["a", "b"], "a beats b")
    assert status == "pass" and "margin 0.1 > spread 0.05" in reason
    status, reason = decide(False, 0.04, row, ["a", "b"], "a beats b", more="do X")
    assert status == "undecided" and "inside the spread 0.05" in reason
    assert "a +/- 0.05 (3 samples)" in reason and "do X" in reason
    row["a_spread"], row["a_samples"] = None, 1
    status, reason = decide(True, 10.0, row, ["a"], "a")
    assert status == "undecided" and "one sample, spread unknown" in reason
    status, _ = decide(True, 10.0, row, ["a"], "a", assumed={"a": 0.5})
    assert status == "pass"
    assert decide(True, 0.4, row, ["a"], "a", assumed={"a": 0.5})[0] == "undecided"


def test_show_value_spread_and_count():
    row = {"x": -0.1234, "x_spread": 0.01, "x_samples": 4, "y": 0.5, "y_samples": 1}
    assert spread.show(row, "x") == "-0.123 +/- 0.010 (4)"
    assert spread.show(row, "y") == "+0.500 (1)"
    assert spread.show(row, "x", "+.2f", 1000) == "-123.40 +/- 10.00 (4)"
    assert spread.show({"z": 0.2, "z_spread": 0.0, "z_samples": 1}, "z") == "+0.200"
    assert spread.show(row, "missing") == "-"


def _ctx(jobs: dict[Role, dict], acc: str = "Al2S3") -> RowContext:
    uuids = {role: f"u{i}" for i, role in enumerate(jobs)}
    return RowContext(
        accelerant=acc,
        scheme="Li-site",
        jobs=uuids,
        outputs={uuids[r]: doc for r, doc in jobs.items()},
        failures={},
        calculator="mlip:test",
    )


def _reaction(label, core_energies, fixed=-4.0):
    """A core reaction: 0.5 A2 + 1 B -> 1 core (2 atoms each: 3 atoms a side)."""
    return {
        "label": label,
        "product": "AB",
        "reaction": "",
        "energy_per_atom": -0.1,
        "converged": True,
        "p2s5_sensitivity": 0.0,
        "inputs": [
            {
                "formula": "A2",
                "phase": "A2",
                "coefficient": -0.5,
                "candidate_energies": [fixed],
            },
            {
                "formula": "B2",
                "phase": "B2",
                "coefficient": -1.0,
                "candidate_energies": [fixed],
            },
            {
                "formula": "A1B2",
                "phase": label,
                "coefficient": 1.0,
                "candidate_energies": core_energies,
            },
        ],
    }


def test_reaction_spread_is_the_arrangement_gap_weighted_and_zero_when_exhaustive():
    core = roles.core_reaction("Al2S3", "Li-site")
    li7 = roles.reaction("Li7P3S11")
    screen = Role("screen", "Al2S3", branch="core", scheme="Li-site")
    li7_doc = {**_reaction("Li7P3S11", [-4.2]), "energy_per_atom": -0.05}
    li7_doc["inputs"][2]["phase"] = "Li7P3S11 x"  # not the core: a known crystal
    jobs = {
        core: _reaction("core Al2S3 Li-site", [-4.10, -4.13, None, -4.12]),
        li7: li7_doc,
        screen: {"n_distinct": 40, "candidates": []},
    }
    row = reaction_columns(_ctx(jobs))
    # d(dE per atom)/d(E per atom of the core) = 1 * 3 atoms / 3 atoms = 1
    assert row["dE_core"] == -0.1 and row["dE_core_spread"] == pytest.approx(0.01)
    assert row["dE_core_samples"] == 3
    assert row["dE_core_minus_Li7P3S11"] == pytest.approx(-0.05)
    assert row["dE_core_minus_Li7P3S11_spread"] == pytest.approx(0.01)  # Li7P3S11: 0
    jobs[core] = _reaction("core Al2S3 Li-site", [-4.13])  # one arrangement
    row = reaction_columns(_ctx(jobs))
    assert row["dE_core_spread"] is None and row["dE_core_samples"] == 1
    assert row["dE_core_minus_Li7P3S11_spread"] is None
    jobs[screen] = {"n_distinct": 1, "candidates": []}  # ... the only one there is
    assert reaction_columns(_ctx(jobs))["dE_core_spread"] == 0.0
    jobs[screen] = {"n_distinct": 40, "candidates": []}
    jobs[core] = _reaction("core Al2S3 Li-site", [-4.13, -4.130001])  # one state
    assert reaction_columns(_ctx(jobs))["dE_core_spread"] is None


def _vacancies(n_sites, e_v):
    return {
        "mu_li": -min(e_v),
        "e_v_min": min(e_v),
        "n_sites": n_sites,
        "vacancies": [
            {"site": i, "e_v": e, "converged": True, "job": "j"}
            for i, e in enumerate(e_v)
        ],
    }


def test_mu_li_spread_from_the_relaxed_sites():
    jobs = {
        roles.mu_li("core", "Al2S3"): _vacancies(9, [2.30, 2.24]),
        roles.mu_li("", "Li7P3S11"): _vacancies(2, [2.10, 2.20]),  # every site
    }
    row = mu_li_columns(_ctx(jobs))
    assert row["mu_Li_core"] == pytest.approx(-2.24)
    assert row["mu_Li_core_spread"] == pytest.approx(0.06)
    assert row["mu_Li_Li7P3S11_spread"] == 0.0  # exhaustive: exact
    assert row["dmu_Li"] == pytest.approx(-0.14)
    assert row["dmu_Li_spread"] == pytest.approx(0.06)


def _binding(e_bind, starts, area=100.0):
    return {
        "e_bind": e_bind,
        "n_summary": 2,
        "area": area,
        "von_mises_strain": 0.0,
        "points": [
            {
                "n_layers": 2,
                "e_bind": e_bind,
                "converged": True,
                "e_interface_starts": starts,
                "jobs": {"film": "none"},
            }
        ],
    }


def test_binding_spread_from_the_relaxed_registries():
    jobs = {
        roles.binding("hetero", "Al2S3"): _binding(-0.007, [-100.0, -99.9]),
        roles.binding("homo", "Li7P3S11"): _binding(-0.008, []),
    }
    row = binding_columns(_ctx(jobs))
    assert row["E_bind_hetero_spread"] == pytest.approx(0.001)  # 0.1 eV / 100 A^2
    assert row["E_bind_hetero_samples"] == 2
    assert row["E_bind_homo_spread"] is None and row["E_bind_homo_samples"] == 1
    assert row["dE_bind"] == pytest.approx(0.001) and row["dE_bind_spread"] is None


def _neb(barriers, classes=None, perc=None):
    runs = [
        {"converged": b is not None, "energies": [0.0, b or 0.0, 0.0]} for b in barriers
    ]
    return {
        "runs": runs,
        "percolation_barrier": perc,
        "hop_classes": classes,
        "hop_classes_computed": sum(b is not None for b in barriers),
    }


def test_migration_spreads_single_hop_and_path():
    doc = _neb([0.30, None, 0.12, 0.20], classes=10, perc=0.30)
    single = hops_sample(doc)
    assert single == Sample(0.12, pytest.approx(0.08), 3)
    path = percolation_sample(doc, single)
    # classes left: a route through them could bring it down to the lowest hop
    assert path == Sample(0.30, pytest.approx(0.18), 3)
    done = _neb([0.30, 0.12, 0.20], classes=3, perc=0.20)
    assert percolation_sample(done, hops_sample(done)) == Sample(0.20, 0.0, 3)
    assert (
        percolation_sample(_neb([0.3], classes=4), hops_sample(_neb([0.3])))
        == spread.NONE
    )
