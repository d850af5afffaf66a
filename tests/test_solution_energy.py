"""Solution energy per dopant: the balance, the chemical potentials, E_sol on model
systems whose answer is known by hand, and its three-way ranking verdict."""

from __future__ import annotations

import pytest
from pymatgen.core import Composition

from lpsflow.analysis.ranking import RankingConfig
from lpsflow.descriptors.base import FAIL, PASS, UNDECIDED
from lpsflow.descriptors.solubility.jobs import solubility_job
from lpsflow.descriptors.solubility.schema import Sublattices
from lpsflow.descriptors.solution_energy.jobs import (
    chemical_potentials,
    li7p3s11_above_tie,
    solution_coefficients,
    solution_energy_job,
)
from lpsflow.descriptors.solution_energy.read import dissolves
from lpsflow.errors import CompositionError
from phase_inputs import phase_input_of as _phase

#: energies per atom (eV); Li7P3S11 placed DELTA meV/atom above Li3PS4 + P2S5
E = {"Li2S": -4.10, "P2S5": -5.00, "Al2S3": -5.33, "SiS2": -5.10, "Li3PS4": -4.63}
DELTA = 5.0
E["Li7P3S11"] = (7 / 3 * 8 * E["Li3PS4"] + 1 / 3 * 7 * E["P2S5"]) / 21 + DELTA / 1000


def _fu(phase: str) -> float:
    return E[phase] * Composition(phase).num_atoms


def _cell(x: float, formula: str, reactants: dict[str, float], gain: float) -> dict:
    """A doped cell ``gain`` eV below ``reactants`` (amount per formula unit)."""
    total = sum(n * _fu(p) for p, n in reactants.items()) + gain
    return {**_phase(f"x={x}", formula, total / Composition(formula).num_atoms), "x": x}


def _refs(accelerant: str) -> list[dict]:
    return [_phase(p, p, E[p]) for p in ("Li3PS4", "Li7P3S11", "Li2S", "P2S5")] + [
        _phase(accelerant, accelerant, E[accelerant])
    ]


def test_balance_of_each_scheme():
    # Li-site Al3+: Al on Li plus two vacancies releases 3/2 Li2S
    nu = solution_coefficients(Composition("Li45AlP16S64"), Composition("Al2S3"))
    assert nu == {"Li3PS4": 16, "Al2S3": 0.5, "Li2S": -1.5, "P2S5": 0}
    # P-site Si4+: Si on P takes up 1/2 Li2S and releases 1/2 P2S5
    nu = solution_coefficients(Composition("Li49SiP15S64"), Composition("SiS2"))
    assert nu == {"Li3PS4": 16, "SiS2": 1, "Li2S": 0.5, "P2S5": -0.5}
    # two dopants: twice the exchange
    nu = solution_coefficients(Composition("Li42Al2P16S64"), Composition("Al2S3"))
    assert nu == {"Li3PS4": 16, "Al2S3": 1, "Li2S": -3, "P2S5": 0}
    with pytest.raises(CompositionError, match="no balance"):
        solution_coefficients(Composition("Li46SiP16S64"), Composition("SiS2"))
    with pytest.raises(CompositionError, match="also holds Ge"):
        solution_coefficients(Composition("Li44GeAlP16S64"), Composition("Al2S3"))


def test_chemical_potentials_keep_both_coexisting_phases_at_equilibrium():
    energies = {p: _fu(p) for p in E}
    for other in ("Li7P3S11", "Li2S"):
        mu = chemical_potentials(energies, other)
        assert 1.5 * mu["Li2S"] + 0.5 * mu["P2S5"] == pytest.approx(energies["Li3PS4"])
    mu = chemical_potentials(energies, "Li7P3S11")
    assert 3.5 * mu["Li2S"] + 1.5 * mu["P2S5"] == pytest.approx(energies["Li7P3S11"])
    assert chemical_potentials(energies, "Li2S")["Li2S"] == pytest.approx(_fu("Li2S"))
    assert li7p3s11_above_tie(energies) == pytest.approx(DELTA)


def test_solution_energy_by_hand():
    """Li-site Al at three x, each with its own gain against Li3PS4 + Al2S3 - Li2S
    (the Li2S-rich condition); beside Li7P3S11 the Li2S given off is worth
    mu_Li2S, lower than E(Li2S)."""
    gains = {0.0625: -0.2, 0.125: -0.5, 0.25: -1.0}  # per cell
    series = [
        _cell(0.125, "Li21AlP8S32", {"Li3PS4": 8, "Al2S3": 0.5, "Li2S": -1.5}, -0.5),
        _cell(0.0625, "Li45AlP16S64", {"Li3PS4": 16, "Al2S3": 0.5, "Li2S": -1.5}, -0.2),
        # two dopants in one cell: per dopant, half the cell's gain
        _cell(0.25, "Li18Al2P8S32", {"Li3PS4": 8, "Al2S3": 1, "Li2S": -3}, -1.0),
    ]
    doc = solution_energy_job.original(
        "Al2S3", "Li-site", 0.125, _refs("Al2S3"), series
    )
    mu = chemical_potentials({p: _fu(p) for p in E}, "Li7P3S11")
    shift = 1.5 * (mu["Li2S"] - _fu("Li2S"))  # per dopant, Li2S-rich -> Li7P3S11
    assert shift < 0
    assert [p.x for p in doc.points] == [0.0625, 0.125, 0.25]
    for p in doc.points:
        per_dopant = gains[p.x] / p.n_dopants
        assert p.energy_per_dopant["Li2S"] == pytest.approx(per_dopant)
        assert p.energy_per_dopant["Li7P3S11"] == pytest.approx(per_dopant + shift)
    assert doc.points[2].n_dopants == 2
    assert doc.energy_per_dopant["Li2S"] == pytest.approx(-0.5)  # at x = 1/8
    assert doc.li7p3s11_above_tie == pytest.approx(DELTA)
    assert doc.points[1].reaction == "8 Li3PS4 + 0.5 Al2S3 -> Li21Al1P8S32 + 1.5 Li2S"


def test_p_site_solution_energy_by_hand():
    """Si on P: takes up 1/2 Li2S and gives off 1/2 P2S5, both at their mu."""
    cell = _cell(
        0.0625,
        "Li49SiP15S64",
        {"Li3PS4": 16, "SiS2": 1, "Li2S": 0.5, "P2S5": -0.5},
        -0.3,
    )
    doc = solution_energy_job.original("SiS2", "P-site", 0.0625, _refs("SiS2"), [cell])
    for condition in ("Li2S", "Li7P3S11"):
        mu = chemical_potentials({p: _fu(p) for p in E}, condition)
        by_hand = (
            -0.3 + 0.5 * (_fu("Li2S") - mu["Li2S"]) - 0.5 * (_fu("P2S5") - mu["P2S5"])
        )
        assert doc.energy_per_dopant[condition] == pytest.approx(by_hand)
    # beside Li2S, mu_Li2S = E(Li2S) but mu_P2S5 is set by Li3PS4, not E(P2S5)
    assert doc.energy_per_dopant["Li2S"] != pytest.approx(-0.3)


def test_beside_a_stable_li7p3s11_e_sol_is_the_hull_energy_per_dopant():
    """With Li7P3S11 on the Li3PS4-P2S5 tie line, a Li-site cell's decomposition
    is Li3PS4 + Li7P3S11 + Al2S3: E_sol beside Li7P3S11 times the dopants equals
    its energy below the hull of the undoped phases (the solubility job's)."""
    energies = dict(E)
    energies["Li7P3S11"] = E["Li7P3S11"] - DELTA / 1000
    saved = E.copy()
    E.update(energies)
    try:
        cell = _cell(
            0.0625, "Li45AlP16S64", {"Li3PS4": 16, "Al2S3": 0.5, "Li2S": -1.5}, -0.4
        )
        sol = solution_energy_job.original(
            "Al2S3", "Li-site", 0.0625, _refs("Al2S3"), [cell]
        )
        refs = [_phase(p, p, E[p]) for p in ("Li2S", "P2S5", "Al2S3", "Li3PS4")]
        refs += [_phase("Li7P3S11", "Li7P3S11", E["Li7P3S11"])]
        refs += [_phase("S", "S", -3.0), _phase("Li4P2S6", "Li4P2S6", -3.0)]
        sites = Sublattices(host_sites=3, vacancies=2)
        hull = solubility_job.original("Al2S3", "Li-site", 573.0, sites, refs, [cell])
    finally:
        E.clear()
        E.update(saved)
    e_hull = hull.points[0].e_above_hull * Composition("Li45AlP16S64").num_atoms
    assert sol.energy_per_dopant["Li7P3S11"] == pytest.approx(e_hull / 1000, abs=1e-6)


@pytest.mark.parametrize(
    ("e", "rich", "spread", "status"),
    [
        (-0.4, -0.1, 0.05, PASS),
        (0.2, 0.7, 0.05, FAIL),
        (-0.4, 0.7, 0.05, UNDECIDED),  # the sign follows the sample's Li2S
        (0.7, -0.7, 0.05, UNDECIDED),
        (-0.4, -0.1, 0.2, UNDECIDED),  # -0.1 is inside the arrangements' spread
        (0.2, 0.7, None, UNDECIDED),  # one arrangement: spread unknown
    ],
)
def test_verdict_is_decided_only_when_both_conditions_agree(e, rich, spread, status):
    row = {"E_sol": e, "E_sol_Li2S_rich": rich}
    for col in row.copy():
        row |= {f"{col}_spread": spread, f"{col}_samples": 1 if spread is None else 2}
    value, _, got, reason = dissolves(row, RankingConfig())
    assert got == status and value == e
    assert f"{e:+.3f}" in reason and f"{rich:+.3f}" in reason
