"""GB and NEB jobs through the flow builders, run with jobflow on real cells.

One small flow: a stand-in relaxed Li7P3S11 and beta-Li3PS4 bulk, then the homo
Li7P3S11 GB (screen 2 shifts -> MLIP relax, loose -> gamma_GB) and the NEB of the
automatically selected hop along the GB and in bulk beta-Li3PS4 (3 images, very
loose, few steps). The converged-NEB bookkeeping uses a cheap analytic calculator.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.calculators.calculator import Calculator, all_changes
from jobflow import Flow, run_locally

from cheap_calculators import MoverInCage
from lpsflow.calculators.base import GRAIN_BOUNDARY, NORMAL
from lpsflow.calculators.mlip import MLIPBackend
from lpsflow.campaign import CalculatorSettings
from lpsflow.descriptors.grain_boundaries.flow import GrainBoundaryMaker
from lpsflow.descriptors.grain_boundaries.jobs import (
    GBEnergyDoc,
    GBScreenDoc,
    gb_energy_job,
)
from lpsflow.descriptors.migration.flow import NebMaker
from lpsflow.descriptors.migration.jobs import HopRequest, NebHopsDoc, neb_hop_job
from lpsflow.errors import StructureError
from lpsflow.jobs.identity import stamp
from lpsflow.jobs.screening import single_point
from lpsflow.structures import hops as hops_mod
from lpsflow.structures import vacancies as vac
from lpsflow.structures.grain_boundaries import QUICK, boundary_planes
from lpsflow.structures.library import load_structure
from lpsflow.structures.slab_geometry import in_plane_area
from lpsflow.structures.slabs import EV_PER_A2_TO_J_PER_M2
from stand_ins import stand_in_relax

# a loose relaxation: the flow must run, not reach a production tolerance
RELAX = CalculatorSettings(fmax=0.2, max_steps=10)
NEB_LOOSE = {
    "n_images": 3, "fmax": 0.3, "max_steps": 4, "endpoint_fmax": 0.3,
    "endpoint_steps": 3,
}  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The GB and NEB Makers on their own (outside any campaign), run locally."""
    li7, core = load_structure("Li7P3S11"), load_structure("Li3PS4")
    e_li7 = single_point(li7, "CHGNet", "cpu")
    backend = MLIPBackend(RELAX)
    bulk7 = stamp(stand_in_relax(li7, e_li7))
    bulk_core = stamp(stand_in_relax(core, -4.0 * len(core)))
    settings = {**QUICK["homo"].__dict__, "shift_grid": (1, 2)}
    gb = GrainBoundaryMaker(
        kind="homo",
        settings=settings,
        relax_maker=backend.relax_maker(GRAIN_BOUNDARY, relax_cell=NORMAL),
    ).make("Li7P3S11", [bulk7])
    along = NebMaker(
        path="gb", n_images=3, max_steps=1, options={"relax_endpoints": False}
    ).make("Li7P3S11", gb.output)
    loose = {k: NEB_LOOSE[k] for k in ("n_images", "fmax", "max_steps")}
    options = {k: NEB_LOOSE[k] for k in ("endpoint_fmax", "endpoint_steps")}
    across = NebMaker(path="bulk", **loose, options=options).make("Li3PS4", bulk_core)
    flow = Flow([bulk7, bulk_core, gb, along, across])
    d = tmp_path_factory.mktemp("gb")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(d)
        res = run_locally(flow, ensure_success=True, log=False)
    jobs = [j for j, _ in flow.iterflow() if "lpsflow_role" in (j.metadata or {})]
    out = {j.metadata["lpsflow_role"]: res[j.uuid][1].output for j in jobs}
    out["e_li7"] = e_li7 / len(li7)
    return out


@pytest.mark.slow
def test_roles(run):
    for role in (
        "screen:gb:homo:Li7P3S11",
        "relax:gb:homo:Li7P3S11",
        "gb:homo:Li7P3S11",
        "neb:gb:Li7P3S11",
        "neb:bulk:Li3PS4",
    ):
        assert role in run


@pytest.mark.slow
def test_screen_keeps_the_lowest_shift(run):
    doc = run["screen:gb:homo:Li7P3S11"]
    assert isinstance(doc, GBScreenDoc)
    energies = [s.energy for s in doc.shifts]
    assert len(energies) == 2
    assert energies[doc.selected] == min(energies)
    assert min(s.relative_energy for s in doc.shifts) == 0.0
    assert doc.n_atoms == len(doc.gb) == doc.n_atoms_a + doc.n_atoms_b == 168
    assert doc.gb.composition.reduced_formula == "Li7P3S11"
    assert doc.von_mises_strain < 1e-6 and doc.area == pytest.approx(148.95, abs=0.1)
    assert doc.misorientation_angle == pytest.approx(180.0, abs=1.0)
    assert doc.e_a_per_atom == doc.e_b_per_atom == pytest.approx(run["e_li7"])
    assert "Sigma" in doc.match and doc.gb.properties["gb"]["boundary_z"]


@pytest.mark.slow
def test_gb_energy_is_the_formula_of_the_relaxed_energies(run):
    scr, relax = run["screen:gb:homo:Li7P3S11"], run["relax:gb:homo:Li7P3S11"]
    doc = run["gb:homo:Li7P3S11"]
    assert isinstance(doc, GBEnergyDoc)
    e_gb = relax.output.energy
    assert doc.e_gb == e_gb and doc.n_atoms_a + doc.n_atoms_b == 168
    gamma = (e_gb - 168 * run["e_li7"]) / (2 * in_plane_area(scr.gb))
    assert doc.converged is bool(relax.is_force_converged)
    if doc.converged:
        assert doc.gamma_ev_a2 == pytest.approx(gamma)
        assert doc.gamma == pytest.approx(gamma * EV_PER_A2_TO_J_PER_M2)
    else:
        assert doc.gamma is None and "GB relaxation" in doc.reason
    # the relaxed cell keeps the grain labels and the in-plane cell; its length
    # normal to the boundaries relaxed, the planes' heights scale with it
    cell = doc.relaxed_cell
    assert cell.site_properties["grain"] == scr.gb.site_properties["grain"]
    assert cell.properties["gb"]["boundary_z"] == pytest.approx(boundary_planes(cell))
    assert np.allclose(cell.lattice.matrix[:2], scr.gb.lattice.matrix[:2])
    assert doc.normal_length == pytest.approx(cell.lattice.c)
    assert doc.normal_length_change == pytest.approx(cell.lattice.c - scr.gb.lattice.c)
    assert doc.normal_length_change != 0.0
    if doc.converged:
        v = load_structure("Li7P3S11").volume / 42
        excess = (cell.volume - 168 * v) / (2 * in_plane_area(cell))
        assert doc.excess_volume == pytest.approx(excess)
    else:
        assert doc.excess_volume is None
    # the screen's separation scan started at contact and kept its lowest cell
    assert scr.normal_scan[0].offset == 0.0
    low = min(scr.normal_scan, key=lambda t: t.energy)
    assert scr.normal_offset == low.offset and low.relative_energy == 0.0


@pytest.mark.slow
def test_unconverged_relaxation_gives_no_gamma(run):
    scr, relax = run["screen:gb:homo:Li7P3S11"], run["relax:gb:homo:Li7P3S11"]
    d = relax.model_dump()
    bulk = {
        "structure": load_structure("Li7P3S11"),
        "output": {"energy": run["e_li7"] * 42},
        "forcefield_name": "CHGNet",
        "is_force_converged": True,
    }
    bulks = [{"doc": bulk, "uuid": scr.bulk_a_job}]
    area = in_plane_area(scr.gb)
    gamma = (relax.output.energy - 168 * run["e_li7"]) / (2 * area)
    for flag in (True, False):
        d["is_force_converged"] = flag
        doc = gb_energy_job.original(scr, {"doc": d, "uuid": "gb"}, bulks)
        assert doc.converged is flag
        assert (doc.gamma is None) is (not flag)
        assert (doc.gamma_ev_a2 is None) is (not flag)
        if flag:  # the formula of the relaxed energies
            assert doc.gamma_ev_a2 == pytest.approx(gamma)
            assert doc.gamma == pytest.approx(gamma * EV_PER_A2_TO_J_PER_M2)
    # a relaxation that changed the in-plane cell is refused
    d["structure"] = d["structure"].copy()
    d["structure"].scale_lattice(d["structure"].volume * 1.02)
    with pytest.raises(StructureError, match="in-plane"):
        gb_energy_job.original(scr, {"doc": d, "uuid": "gb"}, bulks)


def _check_band(doc: NebHopsDoc, n_atoms: int):
    run = doc.runs[0]
    assert len(run.images) == len(run.energies) == 5 and run.n_images == 3
    assert all(len(im) == n_atoms - 1 for im in run.images)
    # the mover is part-way between the relaxed endpoints in every inner image
    a, z = run.images[0], run.images[-1]
    disp = a.lattice.get_cartesian_coords(
        (z.frac_coords - a.frac_coords + 0.5) % 1.0 - 0.5
    )
    k = int(np.argmax(np.linalg.norm(disp, axis=1)))
    for im in run.images[1:-1]:
        d = im.lattice.get_cartesian_coords(
            (im.frac_coords[k] - a.frac_coords[k] + 0.5) % 1.0 - 0.5
        )
        along = float(d @ disp[k]) / float(disp[k] @ disp[k])
        assert 0.0 < along < 1.0
    # climbing image: the highest intermediate image
    assert run.climbing_image == 1 + int(np.argmax(run.energies[1:-1]))
    if run.converged:
        assert run.climbing_image == int(np.argmax(run.energies))
        assert doc.barrier == pytest.approx(max(run.energies) - run.energies[0])
        assert doc.energies == run.relative_energies and doc.selected == 0
    else:
        assert run.barrier is None and doc.barrier is None
        assert doc.converged is False and doc.selected is None and run.reason


@pytest.mark.slow
def test_bulk_neb_band(run):
    doc = run["neb:bulk:Li3PS4"]
    assert isinstance(doc, NebHopsDoc)
    assert doc.path == "bulk" and doc.host_formula == "Li3PS4" and len(doc.hops) == 1
    core = load_structure("Li3PS4")
    assert doc.hops[0].distance == pytest.approx(
        hops_mod.select_hops(core, n=1)[0].distance
    )
    _check_band(doc, len(core))


@pytest.mark.slow
def test_gb_neb_hop_is_in_the_boundary_region_and_unconverged(run):
    doc = run["neb:gb:Li7P3S11"]
    host = run["gb:homo:Li7P3S11"].relaxed_cell
    hop = doc.hops[0]
    d = vac.distance_to_planes(host, host.properties["gb"]["boundary_z"])
    assert d[hop.i] <= 3.0 and d[hop.j] <= 3.0  # in the boundary region
    assert doc.runs[0].n_steps == 1  # one NEB step cannot reach 0.1 eV/A
    assert doc.converged is False and doc.barrier is None
    _check_band(doc, len(host))


class PerHop(Calculator):
    """:class:`MoverInCage` of the hop being run (the job asks for one calculator)."""

    implemented_properties = ("energy", "forces")
    current = 0

    def calculate(self, atoms=None, properties=None, system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        calc = MoverInCage(self.current)
        calc.calculate(self.atoms, properties, system_changes)
        self.results = dict(calc.results)


def test_converged_neb_reports_the_lowest_barrier(monkeypatch):
    """Two bulk hops on the analytic landscape: both converge, the lowest is kept."""
    import lpsflow.calculators.mlip as mlip
    import lpsflow.descriptors.migration.jobs as neb_hops

    proxy = PerHop()
    real_run_neb = neb_hops.run_neb

    def run_neb(initial, final, calc, **kw):
        proxy.current = initial.properties["hop"]["mover"]
        return real_run_neb(initial, final, calc, **kw)

    monkeypatch.setattr(mlip, "mlip_calculator", lambda model, device: proxy)
    monkeypatch.setattr(neb_hops, "run_neb", run_neb)
    core = load_structure("Li3PS4")
    host = {
        "doc": {
            "structure": core,
            "output": {"energy": -1.0},
            "forcefield_name": "CHGNet",
            "is_force_converged": True,
        },
        "uuid": "bulk",
    }
    doc = neb_hop_job.original(
        "Li3PS4", "bulk", host, HopRequest(n_hops=2), n_images=3, fmax=0.05,
        max_steps=300, endpoint_fmax=0.01,
    )  # fmt: skip
    assert len(doc.runs) == len(doc.hops) == 2
    assert doc.converged and all(r.converged for r in doc.runs)
    barriers = [r.barrier for r in doc.runs]
    assert doc.barrier == min(barriers) and doc.selected == barriers.index(
        min(barriers)
    )
    best = doc.runs[doc.selected]
    assert doc.energies == best.relative_energies and doc.energies[0] == 0.0
    # climbing image: the highest intermediate image; Ea = max - initial
    assert best.climbing_image == 1 + int(np.argmax(best.energies[1:-1]))
    assert doc.barrier == pytest.approx(max(best.energies) - best.energies[0])
    assert [h.distance for h in doc.hops] == sorted(h.distance for h in doc.hops)
    with pytest.raises(StructureError, match="NEB path"):
        neb_hop_job.original("Li3PS4", "across", host)


def test_no_coincidence_on_the_relaxed_cells_names_the_setting():
    from lpsflow.descriptors.grain_boundaries.jobs import (
        GBGeometry,
        screen_grain_boundary,
    )

    core = load_structure("Li3PS4")
    doc = stand_in_relax.original(core, -4.0 * len(core))
    settings = {**QUICK["core"].__dict__, "max_area": 600.0, "max_strain": 0.03}
    settings |= {"max_length_tol": 0.03, "max_angle_tol": 0.01, "flip": False}
    with pytest.raises(StructureError) as err:
        screen_grain_boundary.original(
            "core", "Li3PS4", [{"doc": doc, "uuid": "a"}], None,
            GBGeometry(miller_a=(1, 0, 0), miller_b=None, settings=settings),
            parent=core,
        )  # fmt: skip
    msg = str(err.value)
    assert msg.startswith("grain_boundaries.core on the relaxed cells: no CSL")
    assert "that area: 808 A^2" in msg and "Raise grain_boundaries.core.max_area" in msg
