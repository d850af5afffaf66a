"""Batched CHGNet evaluation changes the cost, not the numbers.

* several crystals in one model call: each one's energy, forces, stress and magnetic
  moments as alone;
* relaxations whose force calls meet in one batch (:func:`relax_together`): each
  follows its own trajectory, to the same minimum in the same steps as alone;
* an NEB band's images evaluated as one batch: the same band as with one shared
  calculator.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.filters import FrechetCellFilter
from ase.mep import NEB
from ase.optimize import FIRE, LBFGS
from pymatgen.io.ase import AseAtomsAdaptor

from lpsflow.calculators.batch import BatchGroup, attach, relax_together
from lpsflow.calculators.chgnet_fast import FastCHGNetCalculator
from lpsflow.structures.library import load_structure


@pytest.fixture(scope="module")
def calc():
    return FastCHGNetCalculator(use_device="cpu", stress_unit="eV/A3")


def _distorted(name: str, seed: int, vacancy: bool = False):
    s = load_structure(name).copy()
    if vacancy:
        s.remove_sites([s.indices_from_symbol("Li")[seed % 4]])
    s.perturb(0.08, 0.02, seed=seed)
    s.apply_strain(np.random.default_rng(seed).uniform(-0.03, 0.03, 3))
    return AseAtomsAdaptor.get_atoms(s)


def _structures():
    return [
        _distorted("Li3PS4", 1),
        _distorted("Al2S3", 2),
        _distorted("Li3PS4", 3, vacancy=True),
    ]


def test_a_batch_gives_each_crystal_its_own_numbers(calc):
    structures = _structures()
    alone = []
    for a in structures:
        a.calc = calc
        alone.append((a.get_potential_energy(), a.get_forces(), a.get_stress()))
    group = BatchGroup(calc)
    members = []
    for a in structures:
        b = a.copy()
        attach(group, [b])
        members.append(b)
    # the first request evaluates every attached, stale structure: one call
    members[0].get_forces()
    assert (group.batches, group.evaluations) == (1, 3)
    for b, (e, f, s) in zip(members, alone, strict=True):
        assert np.abs(f).max() > 0.1  # distorted cells: the comparison can fail
        assert b.get_potential_energy() == pytest.approx(e, abs=2e-5 * len(b))
        np.testing.assert_allclose(b.get_forces(), f, atol=5e-5)
        np.testing.assert_allclose(b.get_stress(), s, atol=2e-6)
    assert group.batches == 1  # the others were cached


def test_relaxations_together_follow_their_own_trajectories(calc):
    def relax(atoms):
        opt = LBFGS(FrechetCellFilter(atoms), alpha=10, logfile=None)
        ok = opt.run(fmax=0.05, steps=60)
        return ok, opt.nsteps, atoms.get_potential_energy()

    alone = []
    for a in _structures():
        a.calc = calc
        alone.append((relax(a), a.get_positions()))
    group = BatchGroup(calc)
    structures = _structures()
    together = relax_together(group, structures, relax)
    steps = [r[1] for r, _ in alone]
    assert [r[1] for r in together] == steps
    assert max(steps) > 5  # real relaxations, of different lengths
    # every call of a step met in one batch while all three were running
    assert group.batches == max(steps) + 1
    assert group.evaluations == sum(steps) + len(steps)
    for (ref, pos), got, atoms in zip(alone, together, structures, strict=True):
        assert got[0] == ref[0]
        assert got[2] == pytest.approx(ref[2], abs=1e-4)
        np.testing.assert_allclose(atoms.get_positions(), pos, atol=1e-4)


def test_an_error_in_one_relaxation_is_raised_after_the_others_finish(calc):
    finished = []

    def relax(atoms):
        if len(atoms) == 31:  # the vacancy cell
            atoms.get_forces()
            raise RuntimeError("this one fails")
        FIRE(atoms, logfile=None).run(fmax=0.2, steps=5)
        finished.append(len(atoms))

    with pytest.raises(RuntimeError, match="this one fails"):
        relax_together(BatchGroup(calc), _structures(), relax)
    assert sorted(finished) == [30, 32]


def test_a_bands_images_in_one_batch_give_the_same_band(calc):
    host = AseAtomsAdaptor.get_atoms(load_structure("Li3PS4"))
    li = [i for i, s in enumerate(host.get_chemical_symbols()) if s == "Li"]
    a, b = host.copy(), host.copy()
    del a[li[0]]
    del b[li[1]]
    # the same atoms in the same order: b's vacancy moved to li[0]'s site
    b.positions[li[0]] = host.positions[li[1]]

    def band(batched: bool):
        images = [a.copy(), *(a.copy() for _ in range(3)), b.copy()]
        for im in (images[0], images[-1]):
            im.calc = calc
        neb = NEB(images, climb=True, allow_shared_calculator=True)
        neb.interpolate()
        group = BatchGroup(calc)
        if batched:
            attach(group, images[1:-1])
        else:
            for im in images[1:-1]:
                im.calc = calc
        FIRE(neb, logfile=None).run(fmax=0.1, steps=15)
        return np.array(neb.energies), neb.get_positions(), group

    e0, p0, _ = band(False)
    e1, p1, group = band(True)
    np.testing.assert_allclose(e1, e0, atol=1e-4)
    np.testing.assert_allclose(p1, p0, atol=1e-4)
    assert group.evaluations == 3 * group.batches > 3


@pytest.fixture(scope="module")
def hop_ends():
    from lpsflow.structures import hops

    core = load_structure("Li3PS4")
    return hops.hop_endpoints(core, hops.select_hops(core, n=1)[0])


@pytest.mark.parametrize("optimizer", ["FIRE", "ODE"])
def test_neb_images_with_their_own_calculators(hop_ends, optimizer, monkeypatch):
    """The same band as with one shared calculator; FIRE no longer pays 3 calls per
    image and step (a shared calculator keeps only the last image's results)."""
    from lpsflow.calculators.mlip import STATS, new_calculator
    from lpsflow.descriptors.migration.neb import run_neb
    from lpsflow.speedups import DISABLE_ENV

    calc = new_calculator("CHGNet")
    runs = {}
    for disable in ("batched_images", ""):
        monkeypatch.setenv(DISABLE_ENV, disable)
        STATS.reset()
        doc = run_neb(
            *hop_ends, calc, n_images=3, fmax=0.1, max_steps=12, optimizer=optimizer,
            endpoint_fmax=0.1,
        )  # fmt: skip
        runs[disable or "own"] = (doc, STATS.calls)
    (shared, calls_shared), (own, calls_own) = runs["batched_images"], runs["own"]
    assert own.n_steps == shared.n_steps > 3
    np.testing.assert_allclose(own.energies, shared.energies, atol=1e-4)
    band_calls = 3 * (own.n_steps + 1)
    if optimizer == "FIRE":
        assert calls_shared - calls_own >= 2 * band_calls - 6
    else:  # ODE12r asks once per step anyway
        assert calls_own == calls_shared


def test_neb_on_a_batching_device_relaxes_its_endpoints_together(hop_ends, monkeypatch):
    """As on a GPU (batches forced on the CPU): the endpoints relaxed together and
    the images in one call per step give the band of one shared calculator."""
    from lpsflow.calculators import batch
    from lpsflow.calculators.mlip import new_calculator
    from lpsflow.descriptors.migration.neb import run_neb
    from lpsflow.speedups import DISABLE_ENV

    calc = new_calculator("CHGNet")
    kw = {"n_images": 3, "fmax": 0.1, "max_steps": 10, "endpoint_fmax": 0.05}
    monkeypatch.setenv(DISABLE_ENV, "batched_images")
    alone = run_neb(*hop_ends, calc, **kw)
    monkeypatch.setenv(DISABLE_ENV, "")
    monkeypatch.setitem(batch.BATCH_ATOMS, "cpu", batch.MAX_BATCH_ATOMS)
    calls = []
    real = batch.predict_batch
    monkeypatch.setattr(
        batch,
        "predict_batch",
        lambda m, g, **k: calls.append(len(g)) or real(m, g, **k),
    )
    together = run_neb(*hop_ends, calc, **kw)
    assert together.endpoints_converged and alone.endpoints_converged
    assert together.n_steps == alone.n_steps
    np.testing.assert_allclose(together.energies, alone.energies, atol=1e-4)
    assert calls.count(2) > 3  # the endpoints' relaxations, in pairs
    assert calls.count(3) >= together.n_steps  # the band's images
