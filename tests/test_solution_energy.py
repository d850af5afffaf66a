"""Solution energy per dopant: the balance, the chemical potentials and E_sol on a
model system whose answer is known by hand."""

from __future__ import annotations

import pytest
from pymatgen.core import Composition

from lpsflow.descriptors.solution_energy.jobs import (
    chemical_potentials,
    solution_coefficients,
    solution_energy_job,
)
from lpsflow.errors import CompositionError
from phase_inputs import phase_input_of as _phase

#: energies per atom (eV); Li7P3S11 above Li3PS4 + P2S5, as in DFT
E = {"Li2S": -4.10, "P2S5": -5.00, "Al2S3": -5.33, "Li3PS4": -4.63, "Li7P3S11": -4.55}


def _fu(phase: str) -> float:
    return E[phase] * Composition(phase).num_atoms


def test_balance_of_each_scheme():
    # Li-site Al3+: Al on Li plus two vacancies releases 3/2 Li2S
    nu = solution_coefficients(Composition("Li45AlP16S64"), Composition("Al2S3"))
    assert nu == {"Li3PS4": 16, "Al2S3": 0.5, "Li2S": -1.5, "P2S5": 0}
    # P-site Si4+: Si on P takes up 1/2 Li2S and releases 1/2 P2S5
    nu = solution_coefficients(Composition("Li49SiP15S64"), Composition("SiS2"))
    assert nu == {"Li3PS4": 16, "SiS2": 1, "Li2S": 0.5, "P2S5": -0.5}
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


def test_solution_energy_by_hand():
    """A doped cell placed 0.2 eV per dopant below Li3PS4 + Al2S3 - Li2S (the
    Li2S-rich bound); with Li7P3S11 the Li2S given off is worth less."""
    gain = -0.2
    refs = [_phase(p, p, E[p]) for p in ("Li3PS4", "Li7P3S11", "Li2S", "Al2S3")]
    cells = {}
    for x, formula, n in ((0.0625, "Li45AlP16S64", 16), (0.125, "Li21AlP8S32", 8)):
        total = n * _fu("Li3PS4") + 0.5 * _fu("Al2S3") - 1.5 * _fu("Li2S") + gain
        atoms = Composition(formula).num_atoms
        cells[x] = {**_phase(f"core x={x}", formula, total / atoms), "x": x}
    doc = solution_energy_job.original(
        "Al2S3", "Li-site", 0.0625, refs, [cells[0.125], cells[0.0625]]
    )
    assert [p.x for p in doc.points] == [0.0625, 0.125]
    assert doc.energy_per_dopant["Li2S"] == pytest.approx(gain)
    mu = chemical_potentials({p: _fu(p) for p in E}, "Li7P3S11")
    by_hand = gain + 1.5 * (mu["Li2S"] - _fu("Li2S"))
    assert doc.energy_per_dopant["Li7P3S11"] == pytest.approx(by_hand)
    assert by_hand < gain  # Li2S costs less to give off where Li7P3S11 coexists
    assert doc.points[1].n_dopants == 1
    assert doc.points[0].reaction == "16 Li3PS4 + 0.5 Al2S3 -> Li45Al1P16S64 + 1.5 Li2S"
    assert doc.converged
