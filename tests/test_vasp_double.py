"""atomate2 VASP jobs run end to end through custodian with a VASP test double.

``vasp_double/fake_vasp.py`` computes CHGNet numbers and writes VASP output files, so
the whole path (input writing, custodian and its error handlers, emmet's TaskDoc,
:func:`summarize`) runs as on a cluster, without VASP or POTCARs.
"""

from __future__ import annotations

import shlex
import sys
from copy import deepcopy
from pathlib import Path

import pytest
from jobflow import Flow, JobStore, run_locally
from maggma.stores import MemoryStore
from monty.io import zopen
from pymatgen.core import SETTINGS as PMG_SETTINGS
from pymatgen.core import Structure
from pymatgen.io.vasp import Incar

from lpsflow.calculators.outputs import summarize
from lpsflow.calculators.vasp import VaspBackend
from lpsflow.campaign import CalculatorSettings
from lpsflow.structures.library import load_structure

pytest.importorskip("chgnet")

FAKE_VASP = Path(__file__).parent / "vasp_double" / "fake_vasp.py"


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> VaspBackend:
    """VASP backend whose VASP is the double; no POTCAR library."""
    from atomate2 import SETTINGS

    empty = tmp_path / "no-potcars"
    empty.mkdir()
    monkeypatch.setitem(PMG_SETTINGS, "PMG_VASP_PSP_DIR", str(empty))
    monkeypatch.setattr(SETTINGS, "VASP_INCAR_UPDATES", {})
    monkeypatch.delenv("FAKE_VASP_FAIL_FIRST", raising=False)
    cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(FAKE_VASP))}"
    settings = CalculatorSettings(
        backend="vasp",
        fmax=0.01,
        max_steps=60,
        vasp={"potcar_spec": True, "vasp_cmd": cmd},
    )
    return VaspBackend(settings)


def fast(maker):
    """Let custodian poll the (seconds-long) run every second instead of 10 s."""
    maker.run_vasp_kwargs["custodian_kwargs"] = {"polling_time_step": 1}
    return maker


def run(flow, root: Path) -> tuple[dict, JobStore]:
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    responses = run_locally(
        flow, store=store, create_folders=True, root_dir=root, ensure_success=True
    )
    return responses, store


def chgnet_energy(structure: Structure) -> float:
    from chgnet.model import CHGNet
    from chgnet.model.dynamics import CHGNetCalculator
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = CHGNetCalculator(CHGNet.load(verbose=False), use_device="cpu")
    return float(atoms.get_potential_energy())


def test_relax_then_static(backend: VaspBackend, tmp_path: Path) -> None:
    li2s = load_structure("Li2S")
    relax = fast(backend.relax_maker("Li2S")).make(li2s)
    static = fast(backend.static_maker("Li2S")).make(relax.output.structure)
    responses, store = run(Flow([relax, static]), tmp_path)

    doc = responses[relax.uuid][1].output
    assert doc.task_label == "relax Li2S"
    assert str(doc.calc_type) == "PBE Structure Optimization"
    calc = doc.calcs_reversed[0]
    assert calc.input.incar["ENCUT"] == 520
    assert calc.input.incar["ISIF"] == 3
    assert calc.input.incar["EDIFFG"] == pytest.approx(-0.01)
    assert calc.output.ionic_steps[-1].forces is not None

    summary = summarize(doc)
    assert summary.converged
    assert summary.calculator == "vasp"
    assert summary.formula == "Li2S"
    assert 1 < summary.n_steps < 60
    assert summary.structure.volume != pytest.approx(li2s.volume, rel=1e-4)
    assert summary.energy == pytest.approx(chgnet_energy(summary.structure), abs=1e-4)

    # the stored (serialised) document reads the same
    stored = store.query_one({"uuid": relax.uuid}, load=True)["output"]
    assert summarize(stored).energy == summary.energy
    assert summarize(stored).converged

    # a relaxation that used all NSW steps, or a failed task, is not converged
    unconverged = deepcopy(stored)
    unconverged["calcs_reversed"][0]["input"]["parameters"]["NSW"] = summary.n_steps
    assert not summarize(unconverged).converged
    failed = {**stored, "state": "failed"}
    assert not summarize(failed).converged

    sdoc = responses[static.uuid][1].output
    assert str(sdoc.calc_type) == "PBE Static"
    ssum = summarize(sdoc)
    assert ssum.converged and ssum.n_steps == 1
    assert ssum.energy == pytest.approx(summary.energy, abs=1e-3)


def test_zbrent_is_corrected_by_custodian(
    backend: VaspBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VASP_FAIL_FIRST", "ZBRENT")
    relax = fast(backend.relax_maker("Li2S")).make(load_structure("Li2S"))
    responses, _ = run(relax, tmp_path)
    doc = responses[relax.uuid][1].output

    corrections = doc.custodian[0].corrections
    assert len(corrections) == 1
    assert "zbrent" in corrections[0]["errors"]
    handler = corrections[0]["handler"]
    assert (
        getattr(handler, "as_dict", lambda: handler)()["@class"] == "VaspErrorHandler"
    )
    actions = corrections[0]["actions"]
    assert {"dict": "INCAR", "action": {"_set": {"EDIFF": 1e-6}}} in actions
    assert {"dict": "INCAR", "action": {"_set": {"NELMIN": 8}}} in actions
    assert {"file": "CONTCAR", "action": {"_file_copy": {"dest": "POSCAR"}}} in actions

    run_dir = Path(doc.dir_name.split(":", 1)[-1])
    assert (run_dir / "error.1.tar.gz").exists()
    with zopen(run_dir / "INCAR.gz", "rt") as f:
        final = Incar.from_str(f.read())
    assert final["EDIFF"] == pytest.approx(1e-6)
    assert final["NELMIN"] == 8
    assert doc.orig_inputs.incar["EDIFF"] == pytest.approx(1e-5)
    assert doc.calcs_reversed[0].input.incar["EDIFF"] == pytest.approx(1e-6)

    summary = summarize(doc)
    assert summary.converged
    assert summary.energy == pytest.approx(chgnet_energy(summary.structure), abs=1e-4)
