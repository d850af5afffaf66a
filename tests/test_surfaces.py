"""Surface energies of Li7P3S11 planes: roles, settings, jobs, results and text."""

from __future__ import annotations

import pandas as pd
import pytest
from jobflow import Flow, run_locally

from lpsflow import roles
from lpsflow.calculators.base import INTERFACE
from lpsflow.calculators.mlip import MLIPBackend
from lpsflow.campaign import CalculatorSettings
from lpsflow.campaign_branches import SurfaceSettings
from lpsflow.descriptors.base import RowContext
from lpsflow.descriptors.surfaces import read, show
from lpsflow.descriptors.surfaces.flow import SurfaceEnergyMaker
from lpsflow.descriptors.surfaces.schema import SurfaceEnergyDoc, SurfaceScreenDoc
from lpsflow.jobs.identity import stamp
from lpsflow.jobs.screening import single_point
from lpsflow.structures.library import load_structure
from lpsflow.structures.slab_geometry import in_plane_area
from lpsflow.structures.slabs import EV_PER_A2_TO_J_PER_M2
from stand_ins import stand_in_relax


def test_roles_name_the_plane():
    role = roles.surface((1, 0, -1), "Li7P3S11")
    assert str(role) == "surface:10-1:Li7P3S11"
    assert roles.Role.parse(str(role)) == role
    screen = role.but(step="screen")
    assert str(screen) == "screen:surface:10-1:Li7P3S11"
    assert roles.Role.parse(str(screen)) == screen


def test_settings_refuse_no_plane_and_repeats():
    assert SurfaceSettings().millers == [(0, 1, 0), (1, 0, 0)]
    with pytest.raises(ValueError, match="not a plane"):
        SurfaceSettings(millers=[(0, 0, 0)])
    with pytest.raises(ValueError, match="twice"):
        SurfaceSettings(millers=[(0, 1, 0), (0, 1, 0)])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    li7 = load_structure("Li7P3S11")
    e_bulk = single_point(li7, "CHGNet", "cpu")
    bulk = stamp(stand_in_relax(li7, e_bulk))
    relax = MLIPBackend(CalculatorSettings(fmax=0.2, max_steps=8)).relax_maker(
        INTERFACE, relax_cell=False
    )
    surf = SurfaceEnergyMaker(miller=(1, 0, 0), relax_maker=relax).make(
        "Li7P3S11", [bulk]
    )
    flow = Flow([bulk, surf])
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path_factory.mktemp("surface"))
        res = run_locally(flow, ensure_success=True, log=False)
    jobs = [j for j, _ in flow.iterflow() if "lpsflow_role" in (j.metadata or {})]
    out = {j.metadata["lpsflow_role"]: res[j.uuid][1].output for j in jobs}
    out["e_bulk"] = e_bulk / len(li7)
    return out


def test_screen_keeps_the_lowest_whole_unit_termination(run):
    scr = run["screen:surface:100:Li7P3S11"]
    assert isinstance(scr, SurfaceScreenDoc)
    gammas = [t.gamma for t in scr.terminations]
    assert gammas[scr.selected] == min(gammas) > 0
    slab = scr.slab
    assert slab.composition.reduced_formula == "Li7P3S11"
    e = single_point(slab, "CHGNet", "cpu")
    expect = (e - len(slab) * run["e_bulk"]) / (2 * in_plane_area(slab))
    assert gammas[scr.selected] == pytest.approx(expect * EV_PER_A2_TO_J_PER_M2)


def test_gamma_is_the_formula_of_the_relaxed_slab(run):
    doc = run["surface:100:Li7P3S11"]
    relax = run["relax:surface:100:Li7P3S11"]
    assert isinstance(doc, SurfaceEnergyDoc)
    assert doc.miller == (1, 0, 0) and doc.n_terminations >= 1
    e = relax.output.energy
    expect = (e - doc.n_atoms * run["e_bulk"]) / (2 * doc.area)
    assert doc.e_slab == e
    if doc.converged:
        assert doc.gamma == pytest.approx(expect * EV_PER_A2_TO_J_PER_M2)
        assert doc.gamma < doc.gamma_unrelaxed  # relaxing lowers it
    else:
        assert doc.gamma is None and "slab relaxation" in doc.reason


def _ctx(gammas: dict[str, float | None], film: tuple[int, int, int] | None):
    jobs, outputs = {}, {}
    for hkl, g in gammas.items():
        uuid = f"u{hkl}"
        jobs[roles.Role("surface", "Li7P3S11", "surface", hkl)] = uuid
        outputs[uuid] = {"gamma": g}
    if film is not None:
        screen = roles.Role("screen", "Al2S3", "interface", "hetero", n=1)
        jobs[screen] = "ufilm"
        outputs["ufilm"] = {"film": {"miller": list(film)}}
    return RowContext("Al2S3", "Li-site", jobs, outputs, {}, "mlip:CHGNet")


def test_columns_and_verdict_name_the_lowest_plane_and_the_films():
    row = read.columns(_ctx({"010": 0.21, "100": 0.09}, (0, 1, 0)))
    assert row["gamma_surface_010"] == 0.21 and row["job_surface_100"] == "u100"
    assert row["surface_lowest"] == "100" and row["surface_film"] == "010"
    assert read.JOBS["gamma_surface_100"] == ("job_surface_100",)
    assert "gamma_surface_100" in read.JOBS and "gamma_GB_homo" not in read.JOBS
    text = show.verdict(pd.DataFrame([row]))
    assert "Lowest: (100)" in text and "film uses (010)" in text
    assert "0.120 J/m^2 above (100)" in text
    same = read.columns(_ctx({"010": 0.08, "100": 0.09}, (0, 1, 0)))
    assert "the lowest-energy plane" in show.verdict(pd.DataFrame([same]))
    pending = read.columns(_ctx({"010": None, "100": None}, None))
    assert pending["surface_lowest"] is None
    assert show.verdict(pd.DataFrame([pending])) == "No relaxed surface energy yet."
    assert read.columns(_ctx({}, None)) == {}
    assert show.summary(pd.DataFrame([{"accelerant": "Al2S3"}])) is None
