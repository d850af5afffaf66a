"""Interface jobs on real built cells: screening, fixed atoms, E_bind bookkeeping."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from jobflow import Flow, run_locally

from lpsflow.calculators.mlip import MLIPBackend
from lpsflow.campaign import CalculatorSettings
from lpsflow.campaign_branches import InterfaceSeriesSettings
from lpsflow.descriptors.binding.jobs import (
    SAME_REGISTRY_EV,
    binding_energy_job,
    interface_parts,
    interface_starts,
    registry_order,
    screen_interface,
)
from lpsflow.descriptors.binding.schema import InterfaceGeometry
from lpsflow.errors import StructureError
from lpsflow.structures.interface_energies import binding_energy
from lpsflow.structures.library import load_structure
from lpsflow.structures.slab_geometry import fixed_indices


def _relaxed(structure):
    """A stand-in for a finished bulk relaxation (the starting cell itself)."""
    return {
        "doc": {
            "structure": structure,
            "output": {"energy": -4.0 * len(structure)},
            "forcefield_name": "CHGNet",
            "is_force_converged": True,
        },
        "uuid": "bulk",
    }


@pytest.fixture(scope="module")
def homo(tmp_path_factory):
    """Li7P3S11(010) on itself, n = 1: screen two shifts, relax all three cells."""
    li7 = load_structure("Li7P3S11")
    series = InterfaceSeriesSettings(
        substrate_layers=1, fixed_layers=1, shift_grid=(1, 2)
    ).model_dump(mode="json")
    maker = MLIPBackend(CalculatorSettings(fmax=0.15, max_steps=150)).relax_maker(
        "interface", relax_cell=False
    )
    geometry = InterfaceGeometry(
        film_miller=(0, 1, 0), substrate_miller=(0, 1, 0), series=series, vacuum=10.0
    )
    args = ("homo", "Li7P3S11", _relaxed(li7), [_relaxed(li7)], 1, geometry)
    scr = screen_interface(*args)
    ri = maker.make(scr.output.interface)
    rf = maker.make(scr.output.film_reference)
    rs = maker.make(scr.output.substrate_reference)
    refs = [{"doc": j.output, "uuid": j.uuid} for j in (ri, rf, rs)]
    bind = binding_energy_job(
        "homo", "Li7P3S11", [scr.output], [refs[0]], [refs[1]], [refs[2]]
    )
    # the default: references relaxed from the relaxed interface's parts
    parts = interface_parts(scr.output, refs[0])
    pf, ps = maker.make(parts.output.film), maker.make(parts.output.substrate)
    bind_p = binding_energy_job(
        "homo", "Li7P3S11", [scr.output], [refs[0]],
        [{"doc": pf.output, "uuid": pf.uuid}], [{"doc": ps.output, "uuid": ps.uuid}],
        [parts.output],
    )  # fmt: skip
    d = tmp_path_factory.mktemp("homo")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(d)
        res = run_locally(
            Flow([scr, ri, rf, rs, bind, parts, pf, ps, bind_p]), ensure_success=True
        )
    jobs = {"s": scr, "i": ri, "f": rf, "b": bind, "s_sub": rs}
    jobs |= {"parts": parts, "pf": pf, "ps": ps, "b_p": bind_p}
    out = {k: res[j.uuid][1].output for k, j in jobs.items()}
    out["args"] = args
    return out


def test_screen_keeps_lowest_shift_and_conserves_composition(homo):
    doc = homo["s"]
    energies = [s.energy for s in doc.shifts]
    assert len(energies) >= 2  # the grid plus the bulk-registry shift
    assert energies[doc.selected] == min(energies)
    assert min(s.relative_energy for s in doc.shifts) == 0.0
    film, sub, cell = doc.film_reference, doc.substrate_reference, doc.interface
    assert film.composition + sub.composition == cell.composition
    assert film.composition.reduced_formula == "Li7P3S11"
    # references are cut from the interface cell itself: the same strained lattice
    assert np.allclose(film.lattice.matrix, cell.lattice.matrix)
    assert np.allclose(sub.lattice.matrix, cell.lattice.matrix)
    assert doc.n_fixed == len(fixed_indices(cell)) == len(fixed_indices(sub)) > 0
    assert doc.von_mises_strain < 1e-6 and doc.area == pytest.approx(148.95, abs=0.1)


def test_fixed_atoms_did_not_move_and_free_atoms_did(homo):
    before, after = homo["s"].interface, homo["i"].structure
    fixed = fixed_indices(before)
    moved = np.linalg.norm(after.cart_coords - before.cart_coords, axis=1)
    assert fixed and moved[fixed].max() < 1e-8
    free = [i for i in range(len(before)) if i not in set(fixed)]
    assert moved[free].max() > 0.01
    # the cell is fixed: references stay in the interface's in-plane cell
    assert np.allclose(after.lattice.matrix, before.lattice.matrix)


def test_binding_energy_is_the_formula_of_the_relaxed_energies(homo):
    b = homo["b"]
    p = b.points[0]
    e_i = homo["i"].output.energy
    e_f = homo["f"].output.energy
    e_s = homo["s_sub"].output.energy
    assert (p.e_interface, p.e_film, p.e_substrate) == (e_i, e_f, e_s)
    converged = all(d.is_force_converged for d in (homo["i"], homo["f"], homo["s_sub"]))
    assert p.converged is converged
    if converged:
        assert p.e_bind == pytest.approx((e_i - e_f - e_s) / b.area)
        assert p.e_bind < 0  # Li7P3S11 binds to itself
        assert b.e_bind == p.e_bind and b.n_summary == 1
    else:  # an unconverged relaxation is never turned into a number
        assert p.e_bind is None and b.e_bind is None


def test_references_from_the_relaxed_interface(homo):
    """Default references: the relaxed interface's parts, relaxed again."""
    parts, relaxed, screened = homo["parts"], homo["i"].structure, homo["s"].interface
    labels = np.array(screened.site_properties["interface_label"])
    for tag, part in (("film", parts.film), ("substrate", parts.substrate)):
        # the relaxed positions, not the screened ones, with the screened labels
        assert np.allclose(part.cart_coords, relaxed.cart_coords[labels == tag])
        assert np.allclose(part.lattice.matrix, screened.lattice.matrix)
    # the film moved in the relaxation (this substrate is one fixed layer)
    film_before = screened.cart_coords[labels == "film"]
    assert not np.allclose(parts.film.cart_coords, film_before)
    cut = homo["s"].substrate_reference
    assert fixed_indices(parts.substrate) == fixed_indices(cut)
    assert parts.interface_job and parts.n_layers == 1
    b, p = homo["b_p"], homo["b_p"].points[0]
    assert p.references == "relaxed_interface"
    assert homo["b"].points[0].references == "screened_cell"
    assert p.e_film == homo["pf"].output.energy
    assert p.e_substrate == homo["ps"].output.energy
    assert p.e_interface == homo["b"].points[0].e_interface
    if p.converged:
        assert p.e_bind == pytest.approx(
            (p.e_interface - p.e_film - p.e_substrate) / b.area
        )
        assert p.e_bind < 0


def test_lowest_takes_the_lower_reference_of_both_starts(homo):
    """references: lowest -- each reference from both starts, the lower one used."""
    doc = {k: {"doc": homo[k].model_dump(), "uuid": k} for k in ("i", "f", "s_sub")}
    doc |= {k: {"doc": homo[k].model_dump(), "uuid": k} for k in ("pf", "ps")}
    alt = {"films": [doc["f"]], "substrates": [doc["s_sub"]]}
    b = binding_energy_job.original(
        "homo", "Li7P3S11", [homo["s"]], [doc["i"]], [doc["pf"]], [doc["ps"]],
        [homo["parts"]], alternatives=alt,
    )  # fmt: skip
    p = b.points[0]
    assert p.references == "lowest"
    for what, parts_key, cut_key, energy in (
        ("film", "pf", "f", p.e_film),
        ("substrate", "ps", "s_sub", p.e_substrate),
    ):
        e_parts, e_cut = homo[parts_key].output.energy, homo[cut_key].output.energy
        conv = homo[parts_key].is_force_converged and homo[cut_key].is_force_converged
        if conv:  # both converged: the lower one
            assert energy == min(e_parts, e_cut)
        lower = "relaxed_interface" if energy == e_parts else "screened_cell"
        assert getattr(p, f"{what}_from") == lower
        used, other = (parts_key, cut_key)
        if energy != e_parts:
            used, other = other, used
        assert p.jobs[what] == used and p.jobs[f"{what}_other"] == other
    # a higher converged alternative changes nothing; a lower one is taken
    e_pf = homo["pf"].output.energy
    pf = {"doc": {**doc["pf"]["doc"], "is_force_converged": True}, "uuid": "pf"}
    alts = {}
    for name, shift in (("high", 1.0), ("low", -1.0)):
        d = {**doc["f"]["doc"], "is_force_converged": True}
        d["output"] = {**d["output"], "energy": e_pf + shift}
        alts[name] = {"films": [{"doc": d, "uuid": name}], "substrates": [doc["ps"]]}
    args = ("homo", "Li7P3S11", [homo["s"]], [doc["i"]], [pf], [doc["ps"]])
    args += ([homo["parts"]],)
    same = binding_energy_job.original(*args, alternatives=alts["high"])
    assert same.points[0].e_film == e_pf
    assert same.points[0].film_from == "relaxed_interface"
    assert same.points[0].jobs["film_other"] == "high"
    low = binding_energy_job.original(*args, alternatives=alts["low"])
    assert low.points[0].e_film == e_pf - 1.0 and low.points[0].jobs["film"] == "low"
    assert low.points[0].film_from == "screened_cell"


def test_lowest_takes_the_lowest_substrate_of_all_n(homo):
    """The substrate block is the same in every n: with pool_substrates each n uses
    the lowest converged substrate of all n's starts; its own wins a tie."""
    doc = {k: {"doc": homo[k].model_dump(), "uuid": k} for k in ("i", "pf", "ps")}
    cut = {"doc": homo["s_sub"].model_dump(), "uuid": "cut"}
    e_ps = homo["ps"].output.energy

    def substrate(uuid, shift):
        d = {**doc["ps"]["doc"], "is_force_converged": True}
        return {"doc": {**d, "output": {**d["output"], "energy": e_ps + shift}},
                "uuid": uuid}  # fmt: skip

    # two "n" of the same cell: n = 1's own part 0.5 eV above n = 2's
    subs = [substrate("ps1", 0.5), substrate("ps2", 0.0)]
    cut["doc"] = {**cut["doc"], "is_force_converged": True}
    cut["doc"]["output"] = {**cut["doc"]["output"], "energy": e_ps + 0.25}
    args = ("homo", "Li7P3S11", [homo["s"]] * 2, [doc["i"]] * 2, [doc["pf"]] * 2)
    args += (subs, [homo["parts"]] * 2)
    alt = {"films": [doc["pf"]] * 2, "substrates": [cut]}
    apart = binding_energy_job.original(*args, alternatives=alt)
    assert [p.jobs["substrate"] for p in apart.points] == ["cut", "ps2"]
    pooled = binding_energy_job.original(*args, alternatives=alt, pool_substrates=True)
    p1, p2 = pooled.points
    assert p1.jobs["substrate"] == p2.jobs["substrate"] == "ps2"
    assert p1.e_substrate == p2.e_substrate == e_ps
    assert p1.substrate_from == "relaxed_interface"
    assert p1.jobs["substrate_other"] == "ps1"  # its own start, not used
    assert p1.e_bind == pytest.approx(apart.points[0].e_bind + 0.25 / pooled.area)
    assert p2.e_bind == apart.points[1].e_bind  # its own was already the lowest
    # a tie: each n keeps its own
    tie = [substrate("ps1", 0.0), substrate("ps2", 0.0)]
    args = (*args[:5], tie, args[6])
    tied = binding_energy_job.original(*args, alternatives=alt, pool_substrates=True)
    assert [p.jobs["substrate"] for p in tied.points] == ["ps1", "ps2"]


def test_other_starts_are_the_next_registries_of_the_screen(homo):
    """interface_starts rebuilds the screen's cells and picks the next distinct
    registry by single point; cells that are not the screen's are refused."""
    scr, args = homo["s"], homo["args"]
    _, _, film, subs, _, geometry = args
    rest = (film, subs, geometry)
    doc = interface_starts.original(scr, 2, *rest)
    energies = [s.energy for s in scr.shifts]
    (i,) = doc.selected
    assert i != scr.selected and len(doc.cells) == 1
    assert i == registry_order(energies)[1]
    assert energies[i] - energies[scr.selected] > SAME_REGISTRY_EV
    above = 1000 * (energies[i] - min(energies))
    assert doc.relative_energies[0] == pytest.approx(above)
    cell = doc.cells[0]
    assert cell.composition == scr.interface.composition
    # the same in-plane cell and fixed atoms (the bulk-registry cell may have
    # another gap, so c can differ); another arrangement of the film
    assert np.allclose(cell.lattice.matrix[:2], scr.interface.lattice.matrix[:2])
    assert fixed_indices(cell) == fixed_indices(scr.interface)
    assert not np.allclose(cell.cart_coords, scr.interface.cart_coords)
    other = scr.model_copy(update={"shifts": scr.shifts[:-1]})
    with pytest.raises(StructureError, match="not the cells of that screen"):
        interface_starts.original(other, 2, *rest)


def test_more_starts_take_the_lowest_interface(homo):
    """With starts from other registries each n takes its lowest converged
    interface, and their parts join the references' candidates."""
    scr = homo["s"]
    doc = {k: {"doc": homo[k].model_dump(), "uuid": k} for k in ("i", "pf", "ps")}
    for d in doc.values():
        d["doc"]["is_force_converged"] = True
    e = {k: homo[k].output.energy for k in ("i", "pf", "ps")}

    def moved(key, uuid, shift, converged=True):
        d = {**doc[key]["doc"], "is_force_converged": converged}
        d["output"] = {**d["output"], "energy": e[key] + shift}
        return {"doc": d, "uuid": uuid}

    cell = scr.interface.copy()  # stands in for the other registry's cell
    start = {"start": 1, "cell": cell, "interface": moved("i", "i2", -1.0)}
    start |= {"parts": homo["parts"], "film": moved("pf", "f2", -0.5)}
    start["substrate"] = moved("ps", "s2", +0.5)
    args = ("homo", "Li7P3S11", [scr], [doc["i"]], [doc["pf"]], [doc["ps"]])
    args += ([homo["parts"]],)
    b = binding_energy_job.original(*args, starts=[[start]])
    p = b.points[0]
    assert p.interface_start == 1 and p.jobs["interface"] == "i2"
    assert p.jobs["interface_other"] == "i"
    assert p.e_interface_starts == [e["i"], e["i"] - 1.0]
    assert p.jobs["film"] == "f2" and p.jobs["substrate"] == "ps"
    assert p.e_bind == pytest.approx((e["i"] - 1.0 - e["pf"] + 0.5 - e["ps"]) / b.area)
    one = binding_energy_job.original(*args)
    assert one.points[0].interface_start == 0 and one.points[0].e_interface_starts == []
    assert p.e_bind < one.points[0].e_bind
    # a start without parts (references: screened_cell): the interface alone
    bare = {"start": 1, "cell": cell, "interface": moved("i", "i2", -1.0)}
    b = binding_energy_job.original(*args, starts=[[bare]])
    assert b.points[0].interface_start == 1 and b.points[0].jobs["film"] == "pf"
    # a lower start that did not converge is not taken
    start["interface"] = moved("i", "i2", -1.0, converged=False)
    b = binding_energy_job.original(*args, starts=[[start]])
    assert b.points[0].interface_start == 0 and b.points[0].e_interface == e["i"]


def test_unconverged_relaxation_gives_no_number(homo):
    s = homo["s"]
    docs = []
    for key, structure in (
        ("i", s.interface),
        ("f", s.film_reference),
        ("s_sub", s.substrate_reference),
    ):
        d = homo[key].model_dump()
        d["structure"] = structure
        docs.append({"doc": d, "uuid": key})
    docs[0]["doc"]["is_force_converged"] = False
    doc = binding_energy_job.original(
        "homo", "Li7P3S11", [s], [docs[0]], [docs[1]], [docs[2]]
    )
    assert doc.points[0].converged is False and doc.points[0].e_bind is None
    assert doc.e_bind is None


def test_unstrained_film_reference_is_refused(homo):
    """E_bind needs references in the interface's strained cell, not the bulk slab."""
    s = homo["s"].model_copy()
    film = s.film_reference.copy()
    film.scale_lattice(film.volume * 1.03)  # e.g. the film in its own cell
    s.film_reference = film
    docs = [{"doc": homo[k].model_dump(), "uuid": k} for k in ("i", "f", "s_sub")]
    with pytest.raises(StructureError, match="not in the interface's in-plane cell"):
        binding_energy_job.original(
            "homo", "Li7P3S11", [s], [docs[0]], [docs[1]], [docs[2]]
        )
    assert binding_energy(-10.0, -4.0, -5.0, 100.0) == pytest.approx(-0.01)


def test_too_strict_strain_limit_is_one_clear_error(tmp_path):
    (tmp_path / "c.yaml").write_text(
        "name: strict\naccelerants: [Al2S3]\n"
        "doping: {x: 1/4}\n"
        "interfaces:\n"
        "  hetero: {substrate_layers: 1, fixed_layers: 1, max_strain: 0.001,"
        " max_area: 320}\n"
    )
    for cmd in ("validate", "run"):
        proc = subprocess.run(
            [sys.executable, "-m", "lpsflow.cli", cmd, "c.yaml"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 2
        assert "no lattice match" in proc.stderr and "interfaces.hetero" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "lpsflow-store").exists()  # nothing was started


def test_terminations_are_ranked_once_per_process(monkeypatch):
    import lpsflow.descriptors.binding.jobs as jobs

    calls = []

    def energy(structure, model, device):  # a cheap stand-in for the MLIP
        calls.append(len(structure))
        return -4.0 * len(structure) + 0.01 * structure.lattice.c

    monkeypatch.setattr(jobs, "single_point", energy)
    monkeypatch.setattr(jobs, "_TERMINATIONS", {})
    core = load_structure("Li3PS4")
    best, term = jobs._termination(core, (1, 0, 0), "CHGNet", "cpu")
    assert calls  # the bulk and the candidate slabs were evaluated
    n = len(calls)
    best.slab.translate_sites([0], [0.1, 0, 0])  # callers may change theirs
    again, term_again = jobs._termination(core, (1, 0, 0), "CHGNet", "cpu")
    assert len(calls) == n  # nothing evaluated twice
    assert term_again == term and again.shift == best.shift
    assert again.slab[0].frac_coords != pytest.approx(best.slab[0].frac_coords)
    jobs._termination(core, (1, 0, 0), "SevenNet", "cpu")  # another model: again
    assert len(calls) > n
