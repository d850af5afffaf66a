"""The embedded MLIP backend through atomate2's forcefield makers."""

from __future__ import annotations

import importlib.util

import pytest
from atomate2.forcefields.jobs import ForceFieldRelaxMaker
from jobflow import run_locally

from lpsflow.calculators import get_backend
from lpsflow.calculators.mlip import STATS
from lpsflow.calculators.outputs import summarize
from lpsflow.campaign import CalculatorSettings
from lpsflow.descriptors.reactions.jobs import reaction_energy_job
from lpsflow.structures.library import load_structure


def relax(settings: CalculatorSettings, structure):
    job = get_backend(settings).relax_maker("Li2S").make(structure)
    responses = run_locally(job, log=False, ensure_success=True)
    return responses[job.uuid][1].output


def test_maker_is_atomate2_forcefield_with_campaign_settings():
    maker = get_backend(CalculatorSettings(fmax=0.03, max_steps=77)).relax_maker("Li2S")
    assert isinstance(maker, ForceFieldRelaxMaker)
    assert maker.relax_kwargs["fmax"] == 0.03
    assert maker.steps == 77
    assert maker.relax_cell


def test_chgnet_relaxation_converges_and_counts_force_calls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    calls = STATS.calls
    doc = relax(CalculatorSettings(fmax=0.02), load_structure("Li2S"))
    s = summarize(doc)
    assert s.converged
    assert s.calculator == "mlip:CHGNet"
    assert s.formula == "Li2S"
    assert -5 < s.energy_per_atom < -3
    assert STATS.calls - calls >= s.n_steps - 1  # the last frame reuses the cache


def test_unconverged_relaxation_is_flagged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    start = load_structure("Li2S")
    start.perturb(0.15, 0.1)
    start.scale_lattice(start.volume * 1.15)
    doc = relax(CalculatorSettings(fmax=0.001, max_steps=3), start)
    assert summarize(doc).converged is False


def _ff_doc(formula_structure, energy_per_atom, converged):
    return {
        "forcefield_name": "MLFF.CHGNet",
        "is_force_converged": converged,
        "output": {"energy": energy_per_atom * len(formula_structure), "n_steps": 5},
        "structure": formula_structure.as_dict(),
    }


def test_reaction_uses_lowest_converged_candidate_and_flags_unconverged():
    li2s, p2s5 = load_structure("Li2S"), load_structure("P2S5")
    li7 = load_structure("Li7P3S11")

    def species(phase, structure, candidates):
        return {
            "phase": phase,
            "formula": phase,
            "candidates": [
                {"doc": _ff_doc(structure, e, c), "uuid": f"{phase}-{i}"}
                for i, (e, c) in enumerate(candidates)
            ],
        }

    args = dict(
        label="Li7P3S11",
        product="Li7P3S11",
        reactants=["Li2S", "P2S5"],
        products=["Li7P3S11"],
    )
    # the lowest candidate (-9) is unconverged: the converged -4.6 must be used
    doc = reaction_energy_job.original(
        species=[
            species("Li2S", li2s, [(-4.0, True)]),
            species("P2S5", p2s5, [(-5.0, True)]),
            species("Li7P3S11", li7, [(-4.6, True), (-9.0, False)]),
        ],
        **args,
    )
    assert doc.energy_per_atom == pytest.approx(-0.1)
    assert doc.converged
    used = next(i for i in doc.inputs if i.phase == "Li7P3S11")
    assert used.job_uuid == "Li7P3S11-0" and used.candidate_energies == [-4.6, None]
    # an unconverged precursor makes the whole number unconverged
    doc = reaction_energy_job.original(
        species=[
            species("Li2S", li2s, [(-4.0, False)]),
            species("P2S5", p2s5, [(-5.0, True)]),
            species("Li7P3S11", li7, [(-4.6, True)]),
        ],
        **args,
    )
    assert not doc.converged
    assert doc.p2s5_sensitivity == pytest.approx(-0.5)


@pytest.mark.skipif(
    importlib.util.find_spec("sevenn") is None, reason="SevenNet not installed"
)
def test_sevennet_is_selectable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = CalculatorSettings(model="SevenNet", fmax=0.05)
    doc = relax(settings, load_structure("Li2S"))
    s = summarize(doc)
    assert s.converged
    assert "SevenNet" in s.calculator
    chg = summarize(relax(CalculatorSettings(fmax=0.05), load_structure("Li2S")))
    assert abs(s.energy_per_atom - chg.energy_per_atom) > 1e-3  # a different model


def test_check_device():
    from lpsflow.calculators.mlip import check_device
    from lpsflow.errors import ConfigError

    check_device("cpu")
    with pytest.raises(ConfigError, match="not a torch device"):
        check_device("cuda:x")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match=r"set calculator\.device: cpu"):
            check_device("cuda:0")


def test_job_on_a_node_without_the_device_says_why():
    import torch

    from lpsflow.calculators.mlip import new_calculator
    from lpsflow.errors import ConfigError

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError, match="CUDA"):
        new_calculator("CHGNet", "cuda")
