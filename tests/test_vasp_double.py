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

import numpy as np
import pytest
from jobflow import Flow, JobStore, job, run_locally
from maggma.stores import MemoryStore
from monty.io import zopen
from pymatgen.core import SETTINGS as PMG_SETTINGS
from pymatgen.core import Structure
from pymatgen.io.vasp import Incar

from lpsflow.calculators.outputs import summarize
from lpsflow.calculators.vasp import VaspBackend
from lpsflow.campaign import CalculatorSettings
from lpsflow.jobs.identity import kind, stamp
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


@job
@kind("test_stand_in_relax")
def _stand_in_relax(structure: Structure) -> dict:
    """A finished host relaxation (the starting cell)."""
    return {
        "structure": structure,
        "output": {"energy": -4.0 * len(structure)},
        "forcefield_name": "CHGNet",
        "is_force_converged": True,
    }


def test_vasp_neb_of_a_selected_hop(backend: VaspBackend, tmp_path: Path) -> None:
    """Hop selection -> VASP endpoint relaxes -> IDPP -> atomate2 VASP NEB."""
    from lpsflow.descriptors.migration.flow import NebMaker
    from lpsflow.descriptors.migration.jobs import NebHopsDoc
    from lpsflow.descriptors.migration.vasp import vasp_band

    max_steps = 40
    endpoint, band = map(fast, backend.neb_makers("Li2S", 0.1, max_steps, 0.05))
    maker = NebMaker(
        path="bulk", n_images=1, fmax=0.1, max_steps=max_steps, min_length=5.5,
        endpoint_maker=endpoint, band_maker=band,
    )  # fmt: skip
    host = stamp(_stand_in_relax(load_structure("Li2S")))
    flow = maker.make("Li2S", [host])
    roles = {j.metadata["lpsflow_role"]: j.uuid for j in flow.jobs}
    assert {"hops:neb:bulk:Li2S", "band:neb:bulk:Li2S:0", "neb:bulk:Li2S"} <= set(roles)
    responses, _ = run(Flow([host, flow]), tmp_path)
    doc = responses[flow.output.uuid][1].output
    assert isinstance(doc, NebHopsDoc) and doc.calculator == "vasp"
    assert doc.host_atoms == 24 and doc.hops[0].distance == pytest.approx(2.835, 1e-3)
    band = doc.runs[0]
    assert len(band.images) == len(band.energies) == 3
    assert all(len(im) == 23 for im in band.images)  # one Li fewer than the host
    # the endpoints are the VASP relaxations' final energies and structures
    ends = [
        responses[roles[f"endpoint:neb:bulk:Li2S:0:{e}"]][1].output
        for e in ("initial", "final")
    ]
    assert band.energies[0] == pytest.approx(summarize(ends[0]).energy)
    assert band.energies[-1] == pytest.approx(summarize(ends[1]).energy)
    assert band.endpoints_converged
    band_doc = responses[roles["band:neb:bulk:Li2S:0"]][1].output
    incar = band_doc.calculations[0].input.incar
    assert incar["IMAGES"] == 1 and incar["LCLIMB"] and incar["IBRION"] == 3
    assert incar["EDIFFG"] == pytest.approx(-0.1) and incar["NSW"] == max_steps
    # the image lies between the relaxed endpoints (IDPP)
    a, z, mid = band.images[0], band.images[-1], band.images[1]
    step = (z.frac_coords - a.frac_coords + 0.5) % 1.0 - 0.5
    k = int(np.argmax(np.linalg.norm(a.lattice.get_cartesian_coords(step), axis=1)))
    along = ((mid.frac_coords[k] - a.frac_coords[k] + 0.5) % 1.0 - 0.5) @ step[k]
    assert 0.0 < along / (step[k] @ step[k]) < 1.0
    assert band.climbing_image == 1
    # converged: the barrier is the band's maximum above the initial endpoint
    assert band.converged and doc.converged and doc.selected == 0
    assert doc.barrier == pytest.approx(max(band.energies) - band.energies[0])
    assert doc.barrier > 0 and max(band.energies) == band.energies[1]
    # a band that used up NSW (or whose endpoint did not relax) gives no number
    collected = responses[roles["collect:neb:bulk:Li2S:0"]][1].output
    stuck = band_doc.model_copy(deep=True)
    steps = len(stuck.calculations[0].output.ionic_steps)
    stuck.calculations[0].input.parameters["NSW"] = steps
    refs = [{"doc": e, "uuid": "x"} for e in ends]
    kw = {"label": "t", "hop_distance": 2.8, "fmax": 0.1, "max_steps": steps}
    unconverged = vasp_band(collected, stuck, refs, **kw)
    assert not unconverged.converged and unconverged.barrier is None
    assert "NEB forces above" in unconverged.reason
    assert vasp_band(collected, band_doc, refs, **kw).barrier == doc.barrier


def test_interface_parts_of_a_vasp_relaxation(
    backend: VaspBackend, tmp_path: Path
) -> None:
    """VASP returns no labels (and an input set may sort the atoms); the references
    cut from its relaxation still get the screened cell's labels and fixed atoms."""
    from lpsflow.descriptors.binding.jobs import interface_parts
    from lpsflow.structures.interfaces import build_interfaces
    from lpsflow.structures.slab_geometry import fixed_indices

    li7 = load_structure("Li7P3S11")
    iset = build_interfaces(
        li7, li7, (0, 1, 0), (0, 1, 0), film_layers=[1], substrate_layers=2,
        fixed_layers=1, vacuum=8.0, shift_grid=[(0.0, 0.0)], max_area=200.0,
        registry=False, kind="homo",
    )  # fmt: skip
    ran = Structure.from_sites(iset.interfaces[0])
    relax = fast(backend.relax_maker("interface", relax_cell=False, fmax=0.3)).make(ran)
    # the screened cell in another order than the one VASP ran (S ... Li)
    cell = Structure.from_sites(list(ran)[::-1])
    screen = {"kind": "homo", "label": "Li7P3S11", "n_layers": 1, "interface": cell}
    parts = interface_parts(screen, {"doc": relax.output, "uuid": relax.uuid})
    responses, _ = run(Flow([relax, parts]), tmp_path)
    relaxed = summarize(responses[relax.uuid][1].output).structure
    doc = responses[parts.uuid][1].output
    assert "interface_label" not in relaxed.site_properties
    assert [s.specie for s in relaxed] != [s.specie for s in cell]
    assert doc.film.composition.reduced_formula == "Li7P3S11"
    assert len(doc.film) + len(doc.substrate) == len(cell)
    labels = np.array(cell.site_properties["interface_label"])
    ran_labels = np.array(ran.site_properties["interface_label"])
    kept = [s.specie for s in relaxed] == [s.specie for s in ran]
    for tag, part in (("film", doc.film), ("substrate", doc.substrate)):
        d = part.frac_coords - cell.frac_coords[labels == tag]
        d -= np.round(d)
        assert np.linalg.norm(d @ cell.lattice.matrix, axis=1).max() < 3.0
        # every position is one of the relaxed interface's ...
        dist = relaxed.lattice.get_all_distances(part.frac_coords, relaxed.frac_coords)
        assert dist.min(axis=1).max() < 1e-4
        if kept:  # ... and the one of the same atom (VASP ran the screened order)
            want = relaxed.cart_coords[ran_labels == tag][::-1]
            assert np.allclose(part.cart_coords, want, atol=1e-6)
    fixed = fixed_indices(doc.substrate)
    substrate = Structure.from_sites([s for s in cell if s.interface_label != "film"])
    assert fixed and fixed == fixed_indices(substrate)
    sub_before = cell.cart_coords[labels == "substrate"]
    assert np.allclose(doc.substrate.cart_coords[fixed], sub_before[fixed], atol=1e-5)
    assert not np.allclose(doc.substrate.cart_coords, sub_before, atol=1e-3)
