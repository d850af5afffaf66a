"""Li vacancies, hop selection and climbing-image NEB on the bundled cells.

The converged-NEB checks use a cheap analytic landscape (the hopping Li repelled by
the frozen host atoms) on the real beta-Li3PS4 hop, so they run in a second; the
MLIP runs once through the jobflow job with a one-step (unconverged) band.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.calculators.calculator import Calculator
from ase.optimize import BFGS
from jobflow import run_locally
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from cheap_calculators import MoverInCage
from lpsflow.descriptors.migration.neb import NebDoc, neb_job, run_neb
from lpsflow.errors import StructureError
from lpsflow.structures import grain_boundaries as gb
from lpsflow.structures import hops
from lpsflow.structures import vacancies as vac
from lpsflow.structures.library import load_structure


@pytest.fixture(scope="module")
def core() -> Structure:
    return load_structure("Li3PS4")


@pytest.fixture(scope="module")
def li7() -> Structure:
    return load_structure("Li7P3S11")


@pytest.fixture(scope="module")
def homo_gb(li7) -> Structure:
    gset = gb.build_grain_boundaries(
        li7, (0, 1, 0), layers_a=2, layers_b=2, twist=180.0, shift_grid=[(0, 0)]
    )
    return gset.cells[0]


@pytest.fixture(scope="module")
def hop_ends(core):
    hop = hops.select_hops(core, n=1)[0]
    initial, final = hops.hop_endpoints(core, hop)
    return hop, initial, final


# ------------------------------------------------------------------ vacancies
def test_distinct_li_sites_cover_all_li(core, li7):
    sites = vac.distinct_li_sites(core)
    assert sorted(s.label for s in sites) == ["4b", "8d"]
    assert sum(s.multiplicity for s in sites) == core.composition["Li"] == 12
    sites7 = vac.distinct_li_sites(li7)
    assert sum(s.multiplicity for s in sites7) == li7.composition["Li"] == 14
    assert all(li7[s.index].species_string == "Li" for s in sites7)


def test_vacancy_cells_have_one_li_fewer(core, homo_gb):
    for host, sites in (
        (core, vac.distinct_li_sites(core)),
        (homo_gb, vac.boundary_li_sites(homo_gb, window=3.0, max_sites=3)),
    ):
        for cell in vac.vacancy_cells(host, sites):
            assert cell.composition["Li"] == host.composition["Li"] - 1
            for el in ("P", "S"):
                assert cell.composition[el] == host.composition[el]
            assert len(cell) == len(host) - 1
    with pytest.raises(StructureError, match="not Li"):
        vac.vacancy_cell(
            core, next(i for i, s in enumerate(core) if s.specie.symbol == "P")
        )


def test_boundary_li_sites_are_near_the_planes(homo_gb):
    sites = vac.boundary_li_sites(homo_gb, window=2.5, max_sites=50, distinct=False)
    planes = homo_gb.properties["gb"]["boundary_z"]
    d = vac.distance_to_planes(homo_gb, planes)
    n_li_near = sum(
        1 for i, s in enumerate(homo_gb) if s.species_string == "Li" and d[i] <= 2.5
    )
    assert len(sites) == n_li_near > 0
    assert all(s.distance_to_boundary <= 2.5 for s in sites)
    assert all(homo_gb[s.index].species_string == "Li" for s in sites)
    capped = vac.boundary_li_sites(homo_gb, window=2.5, max_sites=2)
    assert len(capped) <= 2
    with pytest.raises(StructureError, match="no Li within"):
        vac.boundary_li_sites(homo_gb, window=1e-4)


def test_formation_energy_and_mu_li():
    # E_v = E(defect) + mu_Li(bcc) - E(host)
    assert vac.vacancy_formation_energy(-100.0, -103.0, -1.9) == pytest.approx(1.1)
    assert vac.li_chemical_potential([1.1, 0.8, 1.5]) == pytest.approx(-0.8)
    with pytest.raises(StructureError):
        vac.li_chemical_potential([])


# ----------------------------------------------------------------------- hops
def test_select_hops_bulk_and_gb(core, homo_gb):
    bulk = hops.select_hops(core, n=3)
    dists = [h.distance for h in bulk]
    assert dists == sorted(dists) and len(bulk) == 3
    all_li = [i for i, s in enumerate(core) if s.species_string == "Li"]
    shortest = min(core.get_distance(i, j) for i in all_li for j in all_li if i < j)
    assert bulk[0].distance == pytest.approx(shortest, abs=1e-6)

    planes = homo_gb.properties["gb"]["boundary_z"]
    d = vac.distance_to_planes(homo_gb, planes)
    along = hops.select_hops(homo_gb, n=2, region="gb", window=3.0)
    inside = hops.select_hops(homo_gb, n=2, region="grain", window=3.0)
    for h in along:
        assert d[h.i] <= 3.0 and d[h.j] <= 3.0
    for h in inside:
        assert d[h.i] > 3.0 and d[h.j] > 3.0
    grain = homo_gb.site_properties["grain"]
    same = hops.select_hops(homo_gb, n=3, region="gb", across=False)
    through = hops.select_hops(homo_gb, n=3, region="gb", across=True)
    assert all(grain[h.i] == grain[h.j] for h in same)
    assert all(grain[h.i] != grain[h.j] for h in through)


def test_no_li_pair_in_range_is_a_clear_error(core, homo_gb):
    with pytest.raises(StructureError, match="no Li-Li pair within 1"):
        hops.select_hops(core, max_distance=1.0)
    with pytest.raises(StructureError, match="boundary plane"):
        hops.select_hops(homo_gb, region="gb", window=1e-4)


def test_hop_endpoints_move_one_li(core, hop_ends):
    hop, initial, final = hop_ends
    assert len(initial) == len(final) == len(core) - 1
    assert initial.composition["Li"] == core.composition["Li"] - 1
    assert [s.species_string for s in initial] == [s.species_string for s in final]
    moved = np.linalg.norm(final.cart_coords - initial.cart_coords, axis=1)
    k = initial.properties["hop"]["mover"]
    assert moved[k] == pytest.approx(hop.distance, abs=1e-6)
    assert np.delete(moved, k).max() < 1e-8
    # the mover ends on the vacated site j
    assert np.allclose(final[k].frac_coords % 1.0, core[hop.j].frac_coords % 1.0)


# ------------------------------------------------------------------------ NEB
def _relaxed(structure: Structure, calc: Calculator, fmax: float) -> np.ndarray:
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = calc
    BFGS(atoms, logfile=None).run(fmax=fmax, steps=200)
    return atoms.get_positions()


def test_neb_converges_between_the_relaxed_endpoints(hop_ends):
    _, initial, final = hop_ends
    calc = MoverInCage(initial.properties["hop"]["mover"])
    doc = run_neb(
        initial, final, calc, n_images=3, fmax=0.05, max_steps=300,
        endpoint_fmax=0.01,
    )  # fmt: skip
    assert doc.converged, doc.reason
    assert len(doc.images) == len(doc.energies) == 5
    # first/last image are the relaxed endpoints
    for image, ref in ((doc.images[0], initial), (doc.images[-1], final)):
        assert np.allclose(image.cart_coords, _relaxed(ref, calc, 0.01), atol=1e-6)
    assert not np.allclose(doc.images[0].cart_coords, initial.cart_coords, atol=1e-3)
    # the band runs between them: the mover is part-way in every inner image
    k = initial.properties["hop"]["mover"]
    start, end = doc.images[0].cart_coords[k], doc.images[-1].cart_coords[k]
    for image in doc.images[1:-1]:
        p = image.cart_coords[k]
        assert 0.0 < np.linalg.norm(p - start) < np.linalg.norm(end - start)
    # climbing image is the top of the profile; Ea = max - initial
    assert doc.climbing_image == int(np.argmax(doc.energies))
    assert 0 < doc.climbing_image < 4
    assert doc.barrier == pytest.approx(max(doc.energies) - doc.energies[0])
    assert doc.barrier > 0.05
    assert doc.relative_energies[0] == 0.0
    assert doc.max_force <= 0.05


@pytest.mark.parametrize("optimizer", ["FIRE", "ODE"])
def test_unconverged_neb_has_no_barrier(hop_ends, optimizer):
    _, initial, final = hop_ends
    calc = MoverInCage(initial.properties["hop"]["mover"])
    doc = run_neb(
        initial, final, calc, n_images=3, fmax=1e-4, max_steps=1, optimizer=optimizer
    )
    assert doc.converged is False
    assert doc.barrier is None and doc.reverse_barrier is None
    assert doc.n_steps <= 1  # ODE counts accepted steps only
    assert "NEB forces above" in doc.reason


def test_ode_and_fire_find_the_same_barrier(hop_ends):
    """The default band optimiser (ODE12r) against FIRE, tightly converged."""
    _, initial, final = hop_ends
    calc = MoverInCage(initial.properties["hop"]["mover"])
    docs = {
        opt: run_neb(initial, final, calc, n_images=3, fmax=0.01, optimizer=opt)
        for opt in ("FIRE", "ODE")
    }
    assert all(d.converged for d in docs.values())
    assert docs["ODE"].barrier == pytest.approx(docs["FIRE"].barrier, abs=5e-3)
    assert docs["ODE"].barrier > 0.05


def test_fire_finishes_a_band_that_ode12r_gives_up_on(hop_ends, monkeypatch):
    """ODE12r stops when its step size collapses; FIRE takes the band from there."""
    from ase.mep.neb import NEBOptimizer

    _, initial, final = hop_ends
    calc = MoverInCage(initial.properties["hop"]["mover"])

    def gives_up(self, fmax=0.05, steps=None, method=None):
        self.nsteps = 2
        return False

    monkeypatch.setattr(NEBOptimizer, "run", gives_up)
    doc = run_neb(initial, final, calc, n_images=3, fmax=0.01, max_steps=300)
    fire = run_neb(
        initial, final, calc, n_images=3, fmax=0.01, max_steps=300, optimizer="FIRE"
    )
    assert doc.converged and doc.method.endswith("ODE12r, finished with FIRE")
    assert doc.barrier == pytest.approx(fire.barrier, abs=5e-3)
    assert doc.n_steps > 2


def test_unknown_neb_optimizer(hop_ends):
    _, initial, final = hop_ends
    with pytest.raises(StructureError, match="ODE"):
        run_neb(initial, final, MoverInCage(0), optimizer="Newton")


def test_neb_rejects_mismatched_endpoints(core, hop_ends):
    _, initial, _ = hop_ends
    with pytest.raises(StructureError, match="same atoms"):
        run_neb(initial, core, MoverInCage(0))


def test_mlip_neb_job_marks_unconverged(hop_ends):
    """One MLIP step (CHGNet, CPU) through the jobflow job: not converged."""
    _, initial, final = hop_ends
    job = neb_job(
        initial, final, n_images=1, fmax=0.01, max_steps=1, relax_endpoints=False,
        label="Li3PS4 bulk hop",
    )  # fmt: skip
    responses = run_locally(job, ensure_success=True, log=False, raise_immediately=True)
    doc = responses[job.uuid][1].output
    assert isinstance(doc, NebDoc)
    assert doc.converged is False and doc.barrier is None
    assert doc.calculator == "CHGNet" and doc.label == "Li3PS4 bulk hop"
    assert len(doc.energies) == 3 and all(np.isfinite(doc.energies))
    assert doc.climbing_image == 1
