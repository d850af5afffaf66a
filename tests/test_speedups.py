"""The throughput optimisations change the cost, not the numbers.

* one backward pass for CHGNet forces and stress: the same energy, forces, stress
  and magnetic moments as chgnet's own calculator;
* CHGNet's crystal graph built with numpy: the same arrays, in the same order, as
  chgnet's converter makes (and chgnet's converter where the rules differ);
* subnormal floats flushed to zero inside the model: bit-identical numbers;
* LBFGS from a soft initial Hessian (the default optimiser): the same minimum as
  atomate2's default FIRE to the relaxation tolerance;
* every speed-up switched off (``LPSFLOW_DISABLE``: calculator speed-ups and the
  parallel worker processes): the same campaign results, run as a user runs them.

The NEB band optimiser (ODE12r against FIRE) is checked in ``test_vacancies_neb.py``,
the worker processes' store against a serial run's in ``test_workers.py``.

Sharing work between accelerants and resuming are checked in ``test_flow.py`` (the
same job ids) and ``test_campaign_e2e.py`` (a rerun adds nothing).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from chgnet.model.dynamics import CHGNetCalculator
from jobflow import run_locally
from pymatgen.io.ase import AseAtomsAdaptor

from lpsflow.calculators import get_backend
from lpsflow.calculators.chgnet_fast import FastCHGNetCalculator
from lpsflow.calculators.mlip import STATS, mlip_calculator
from lpsflow.calculators.outputs import summarize
from lpsflow.campaign import CalculatorSettings
from lpsflow.errors import ConfigError
from lpsflow.speedups import DISABLE_ENV, SPEEDUPS
from lpsflow.structures.library import load_structure


def _distorted(name: str, seed: int):
    s = load_structure(name).copy()
    s.perturb(0.08, 0.02, seed=seed)
    s.apply_strain(np.random.default_rng(seed).uniform(-0.03, 0.03, 3))
    return AseAtomsAdaptor.get_atoms(s)


@pytest.mark.parametrize(("name", "seed"), [("Li3PS4", 1), ("Al2S3", 2)])
def test_one_backward_gives_chgnets_numbers(name, seed):
    stock = CHGNetCalculator(use_device="cpu", stress_unit="eV/A3")
    fast = FastCHGNetCalculator(use_device="cpu", stress_unit="eV/A3")
    a = _distorted(name, seed)
    b = a.copy()
    a.calc, b.calc = stock, fast
    forces = a.get_forces()
    assert np.abs(forces).max() > 0.1  # a distorted cell: the comparison can fail
    assert b.get_potential_energy() == pytest.approx(a.get_potential_energy(), 1e-6)
    np.testing.assert_allclose(b.get_forces(), forces, atol=2e-5)
    np.testing.assert_allclose(b.get_stress(), a.get_stress(), atol=1e-6)
    np.testing.assert_allclose(
        b.get_magnetic_moments(), a.get_magnetic_moments(), atol=1e-6
    )


def test_one_backward_evaluates_in_eval_mode():
    from lpsflow.calculators.chgnet_fast import predict_one_backward

    fast = FastCHGNetCalculator(use_device="cpu")
    model = fast.model
    assert not any(m.training for m in model.modules())  # set once, not per call
    a = _distorted("Li3PS4", 7)
    a.calc = fast
    energy = a.get_potential_energy()
    model.train()  # someone trained it: the next evaluation is back in eval mode
    graph = model.graph_converter(AseAtomsAdaptor.get_structure(a))
    pred = predict_one_backward(model, graph)
    assert not any(m.training for m in model.modules())
    assert pred["e"] * len(a) == pytest.approx(energy, abs=1e-5)


GRAPH_ARRAYS = (
    "atomic_number",
    "atom_graph",
    "neighbor_image",
    "directed2undirected",
    "undirected2directed",
    "bond_graph",
)


@pytest.mark.parametrize(
    ("name", "seed"), [("Li3PS4", 3), ("Li7P3S11", 4), ("Li2S", 5), ("P2S5", 6)]
)
def test_fast_graph_is_chgnets_graph(name, seed):
    from chgnet.model import CHGNet

    from lpsflow.calculators.chgnet_graph import crystal_graph

    converter = CHGNet.load(verbose=False).graph_converter
    atoms = _distorted(name, seed)
    if name == "Li3PS4":  # a supercell with an atom at the cell edge
        atoms = atoms.repeat((2, 1, 1))
        atoms.positions[0] = [0.0, 0.0, 0.0]
    ours = crystal_graph(atoms, converter)
    chgnets = converter(AseAtomsAdaptor.get_structure(atoms))
    assert len(chgnets.bond_graph) > 50  # angles exist: the comparison can fail
    for field in GRAPH_ARRAYS:
        a, b = getattr(ours, field), getattr(chgnets, field)
        assert a.dtype == b.dtype and a.shape == b.shape, field
        assert torch.equal(a, b), field
    for field in ("atom_frac_coord", "lattice"):
        np.testing.assert_allclose(
            getattr(ours, field).detach(), getattr(chgnets, field).detach(), atol=1e-6
        )
    assert ours.composition == chgnets.composition


def test_fast_graph_falls_back_to_chgnets_converter():
    from chgnet.model import CHGNet

    from lpsflow.calculators.chgnet_graph import GraphMismatch, crystal_graph

    converter = CHGNet.load(verbose=False).graph_converter
    lithium = AseAtomsAdaptor.get_atoms(load_structure("Li"))  # no bond angles
    with pytest.raises(GraphMismatch):
        crystal_graph(lithium, converter)
    stock = CHGNetCalculator(use_device="cpu", stress_unit="eV/A3")
    fast = FastCHGNetCalculator(use_device="cpu", stress_unit="eV/A3")
    a, b = lithium.copy(), lithium.copy()
    a.calc, b.calc = stock, fast
    assert b.get_potential_energy() == pytest.approx(a.get_potential_energy(), 1e-6)


@pytest.mark.parametrize("fast_graph", [True, False])
def test_energy_only_single_points_are_the_calculators_energies(fast_graph):
    """Forward pass only (screens): the energies calculate() gives, bit for bit."""
    calc = FastCHGNetCalculator(use_device="cpu", fast_graph=fast_graph)
    cells = [_distorted(n, seed) for n in ("Li3PS4", "Li7P3S11") for seed in (1, 2)]
    li = load_structure("Li").copy()  # isolated-ish atoms: chgnet's converter
    li.scale_lattice(li.volume * 8)
    cells.append(AseAtomsAdaptor.get_atoms(li))
    expected = []
    for a in cells:
        b = a.copy()
        b.calc = calc
        expected.append(float(b.get_potential_energy()))
    assert calc.energies(cells) == expected
    assert calc.energies([]) == []


def test_single_point_energies_count_and_fall_back(monkeypatch):
    from lpsflow.calculators.mlip import single_point_energies

    structures = [load_structure("Li3PS4"), load_structure("Li2S")]
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    calls = STATS.calls
    fast = single_point_energies(structures, "CHGNet")
    assert STATS.calls == calls + 2
    monkeypatch.setenv(DISABLE_ENV, "energy_only")  # an ordinary evaluation each
    assert single_point_energies(structures, "CHGNet") == fast
    monkeypatch.setenv(DISABLE_ENV, "one_backward")  # chgnet's own calculator
    stock = single_point_energies(structures, "CHGNet")
    assert stock == pytest.approx(fast, rel=1e-6)


def test_flushed_denormals_give_the_same_numbers():
    a = _distorted("Li7P3S11", 7)
    b = a.copy()
    a.calc = FastCHGNetCalculator(use_device="cpu", flush_denormals=False)
    b.calc = FastCHGNetCalculator(use_device="cpu")
    assert np.abs(a.get_forces()).max() > 0.1  # a distorted cell: forces to compare
    assert b.get_potential_energy() == a.get_potential_energy()  # bit for bit
    np.testing.assert_array_equal(b.get_forces(), a.get_forces())
    np.testing.assert_array_equal(b.get_stress(), a.get_stress())
    # flushing is scoped to the model: subnormals are back outside it
    assert torch.tensor([1e-323], dtype=torch.float64).item() > 0
    assert np.float64(1e-323) * 1.0 > 0


def test_unchanged_atoms_skip_ases_comparison(monkeypatch):
    from ase.calculators import calculator as ase_calculator

    atoms = _distorted("Li3PS4", 3)
    atoms.calc = calc = FastCHGNetCalculator(use_device="cpu")
    energy = atoms.get_potential_energy()
    calls = []
    compare = ase_calculator.compare_atoms
    monkeypatch.setattr(
        ase_calculator,
        "compare_atoms",
        lambda *a, **k: calls.append(1) or compare(*a, **k),
    )
    assert calc.check_state(atoms.copy()) == []
    assert atoms.get_potential_energy() == energy and not calls  # no comparison
    moved = atoms.copy()
    moved.positions[0, 0] += 1e-9
    assert calc.check_state(moved) == ["positions"] and calls  # ASE's check
    charged = atoms.copy()
    charged.set_initial_charges([0.1] * len(atoms))
    assert "initial_charges" in calc.check_state(charged)
    strained = atoms.copy()
    strained.set_cell(atoms.cell.array * 1.001, scale_atoms=True)
    assert {"cell", "positions"} <= set(calc.check_state(strained))
    atoms.positions[1] += 0.05  # a step: a new evaluation
    assert atoms.get_potential_energy() != energy


FLUSHING_THREADS = """
import torch
torch.set_num_threads(2)
from lpsflow.calculators.mlip import mlip_calculator
mlip_calculator("CHGNet")
x = torch.full((1 << 22,), 1e-39) * 1.0001  # split over both threads
main = (torch.tensor([1e-39]) * 1.0001).item()  # small: the calling thread
print(int((x == 0).sum()), int((x != 0).sum()), main > 0)
"""


@pytest.mark.parametrize("disable", ["", "flush_denormals"])
def test_torchs_other_threads_flush_subnormals(disable):
    env = {**os.environ, DISABLE_ENV: disable, "OMP_NUM_THREADS": "2"}
    out = subprocess.run(
        [sys.executable, "-c", FLUSHING_THREADS],
        env=env, check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    zeros, kept, main_keeps = int(out[-3]), int(out[-2]), out[-1] == "True"
    assert main_keeps  # the calling thread keeps subnormals outside the model
    if disable:
        assert zeros == 0
    else:  # the other compute thread flushed its share
        assert zeros > 0 and kept > 0


def test_speedups_can_be_switched_off(monkeypatch):
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    calc = mlip_calculator("CHGNet")
    assert isinstance(calc, FastCHGNetCalculator)
    assert mlip_calculator("CHGNet") is calc  # one model per process
    assert calc.fast_graph
    monkeypatch.setenv(DISABLE_ENV, "fast_graph")
    assert not mlip_calculator("CHGNet").fast_graph
    monkeypatch.setenv(DISABLE_ENV, "one_backward")
    assert not isinstance(mlip_calculator("CHGNet"), FastCHGNetCalculator)
    monkeypatch.setenv(DISABLE_ENV, "shared_model")
    assert mlip_calculator("CHGNet") is not mlip_calculator("CHGNet")
    monkeypatch.setenv(DISABLE_ENV, "one_backward,fast_everything")
    with pytest.raises(ConfigError, match="fast_everything"):
        mlip_calculator("CHGNet")


def _relax(settings: CalculatorSettings, structure):
    job = get_backend(settings).relax_maker("Li3PS4").make(structure)
    calls = STATS.calls
    responses = run_locally(job, log=False, ensure_success=True)
    return summarize(responses[job.uuid][1].output), STATS.calls - calls


@pytest.mark.parametrize("name", ["Li3PS4", "Li7P3S11"])
def test_soft_lbfgs_reaches_fires_minimum(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_structure(name)
    fire, fire_calls = _relax(CalculatorSettings(optimizer="FIRE", fmax=0.02), s)
    lbfgs, lbfgs_calls = _relax(CalculatorSettings(fmax=0.02), s)
    assert fire.converged and lbfgs.converged
    assert lbfgs.energy_per_atom == pytest.approx(fire.energy_per_atom, abs=1e-3)
    assert lbfgs_calls > 5 and fire_calls > 5  # both relaxed, from the same start


CAMPAIGN = """\
name: speedups
accelerants: [Al2S3]
calculator: {{fmax: 0.05, max_steps: 200, optimizer: {optimizer}}}
doping: {{x: 1/4, screen_top: 2, relax_top: 1, solubility_x: [1/4]}}
interfaces: {{enabled: false}}
vacancies: {{enabled: false}}
grain_boundaries: {{enabled: false}}
neb: {{enabled: false}}
store: {{path: store}}
workdir: work
"""


def _run_campaign(directory, optimizer: str, disable: str, *run_args: str) -> dict:
    directory.mkdir()
    config = directory / "c.yaml"
    config.write_text(CAMPAIGN.format(optimizer=optimizer))
    env = {**os.environ, DISABLE_ENV: disable}
    cli = [sys.executable, "-c", "from lpsflow.cli import main; main()"]
    subprocess.run(
        [*cli, "run", str(config), *run_args], env=env, check=True, cwd=directory
    )
    out = subprocess.run(
        [*cli, "results", str(config), "--format", "json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=directory,
    ).stdout
    return {(row["accelerant"], row["scheme"]): row for row in json.loads(out)}


@pytest.mark.slow  # ~60 s / ~40 s: run with LPSFLOW_RUN_SLOW=1 (README)
def test_campaign_results_are_the_same_without_the_speedups(tmp_path):
    # two worker processes even on one core: parallel_jobs is one of the speed-ups
    fast = _run_campaign(tmp_path / "fast", "LBFGS", "", "--workers", "2")
    slow = _run_campaign(tmp_path / "slow", "LBFGS", ",".join(SPEEDUPS))
    assert set(fast) == set(slow)
    for key, row in fast.items():
        other = slow[key]
        # reaction energies (eV/atom). Float32 round-off differs between the two
        # calculators, so optimiser paths part after tens of steps (and a force 1e-4
        # from fmax can land on either side): the minima agree to well within
        # what the 0.05 eV/A tolerance resolves, not bit for bit.
        for col in ("dE_core", "dE_Li7P3S11", "dE_Li3PS4", "dE_core_minus_Li7P3S11"):
            assert row[col] == pytest.approx(other[col], abs=5e-4), (key, col)
        assert row["x_solubility"] == other["x_solubility"]
