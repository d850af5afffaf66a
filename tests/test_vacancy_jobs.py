"""Li vacancies and mu_Li on real relaxed cells (SCIENCE.md item 7)."""

from __future__ import annotations

import pytest
from jobflow import Flow, run_locally

from lpsflow import roles
from lpsflow.calculators.mlip import MLIPBackend
from lpsflow.campaign import CalculatorSettings
from lpsflow.descriptors.mu_li.flow import ChemicalPotentialMaker
from lpsflow.descriptors.mu_li.jobs import chemical_potential_job, supercell_for
from lpsflow.structures.library import load_structure


@pytest.fixture(scope="module")
def li7(tmp_path_factory):
    """Li7P3S11: relax bulk and bcc Li, then the mu_Li Maker on its own (outside any
    campaign): screen 7 distinct sites, relax the lowest, mu_Li."""
    backend = MLIPBackend(CalculatorSettings(fmax=0.1, max_steps=150))
    bulk = backend.relax_maker("Li7P3S11").make(load_structure("Li7P3S11"))
    li = backend.relax_maker("Li").make(load_structure("Li").get_primitive_structure())
    maker = ChemicalPotentialMaker(
        relax_maker=backend.relax_maker("Li7P3S11", relax_cell=False),
        static_maker=backend.static_maker("Li7P3S11"),
        min_length=6.0,
        relax_top=1,
    )
    flow = maker.make(roles.mu_li("", "Li7P3S11"), "Li7P3S11", [bulk], li)
    d = tmp_path_factory.mktemp("vac")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(d)
        res = run_locally(Flow([bulk, li, flow]), ensure_success=True)
    by_role = {j.metadata["lpsflow_role"]: j for j in flow.jobs}
    jobs = {
        "bulk": bulk,
        "li": li,
        "scr": by_role["screen:vacancy:Li7P3S11"],
        "host": by_role["static:vacancy:Li7P3S11:host"],
        "defect": by_role["relax:vacancy:Li7P3S11:0"],
        "mu": by_role["mu_li:Li7P3S11"],
    }
    out = {k: res[j.uuid][1].output for k, j in jobs.items()}
    assert flow.output.uuid == jobs["mu"].uuid  # the Maker's output: mu_Li's
    return out


def test_every_distinct_site_screened_lowest_relaxed(li7):
    scr = li7["scr"]
    assert len(scr.sites) == 7  # P-1, Z = 2: 14 Li in 7 symmetry-distinct pairs
    assert sum(s.multiplicity for s in scr.sites) == 14
    energies = [s.energy for s in scr.sites]
    assert energies == sorted(energies) and scr.sites[0].relative_energy == 0.0
    host, cell = scr.host, scr.selected[0]
    assert len(cell) == len(host) - 1
    assert host.composition["Li"] - cell.composition["Li"] == 1
    assert host.composition - cell.composition == load_structure("Li").composition / 2
    assert min(host.lattice.abc) >= 6.0


def test_mu_li_is_minus_the_lowest_formation_energy(li7):
    mu, li = li7["mu"], li7["li"]
    e_li = li.output.energy / len(li.structure)
    e_v = li7["defect"].output.energy + e_li - li7["host"].output.energy
    v = mu.vacancies[0]
    assert mu.mu_li_bcc == pytest.approx(e_li)
    if v.converged:
        assert v.e_v == pytest.approx(e_v)
        assert mu.mu_li == pytest.approx(-e_v) and mu.e_v_min == pytest.approx(e_v)
        assert 0 < e_v < 3  # removing Li to bcc Li costs energy, not tens of eV
    else:
        assert v.e_v is None and mu.mu_li is None


def test_unconverged_vacancy_gives_no_number(li7):
    d = li7["defect"].model_dump()
    d["is_force_converged"] = False
    doc = chemical_potential_job.original(
        "Li7P3S11",
        li7["scr"],
        {"doc": li7["host"].model_dump(), "uuid": "h"},
        [{"doc": d, "uuid": "d"}],
        {"doc": li7["li"].model_dump(), "uuid": "li"},
    )
    assert doc.vacancies[0].e_v is None and doc.mu_li is None


def test_supercell_for_min_length():
    assert supercell_for((12.5, 6.0, 12.4), 10.0) == (1, 2, 1)
    assert supercell_for((10.0, 3.0, 20.0), 10.0) == (1, 4, 1)
