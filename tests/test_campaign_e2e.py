"""A real campaign end to end on the embedded MLIP: run, kill, resume, rerun, query.

Small sizes (one accelerant, x = 1/4 in the 32-atom cell, loose tolerance) keep it
to a few minutes on 2 CPU cores; every number is computed, none is mocked. The
campaign (``campaign_snippets.SMALL_CAMPAIGN``) is run once per session and shared
with the report tests.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest
from pymatgen.core import Structure

from lpsflow.campaign import load_campaign
from lpsflow.dispatch import usage
from lpsflow.dispatch.local import run_campaign
from lpsflow.results import load
from lpsflow.store import open_stores


def _stores(path):
    c = load_campaign(path)
    return c, open_stores(c.store, c.base_dir)


def _n_docs(stores):
    return stores.jobs.docs_store.count({})


@pytest.fixture(scope="module")
def campaign_dir(small_campaign):
    """The shared small campaign (conftest): started, killed, resumed."""
    return small_campaign


def test_killed_run_resumes_and_completes(campaign_dir):
    report = campaign_dir["report"]
    assert len(campaign_dir["before"]) >= 2  # the kill left finished work behind
    code, stderr = campaign_dir["stop"]
    assert code == 143, stderr  # SIGTERM: stopped as Ctrl-C stops it
    assert "finished work is kept, rerun to resume" in stderr
    assert "Traceback" not in stderr
    # the run says what it runs on: model, device and worker processes
    head = campaign_dir["head"]
    assert any("calculator: mlip (CHGNet on cpu)" in line for line in head), head[:3]
    assert report.ok, report.failed
    assert report.reused >= len(campaign_dir["before"])
    assert not campaign_dir["before"].intersection(report.completed)
    # each job reused, computed, or copied from the same calculation reached
    # another way (a relaxed film reference that the cut film started from)
    assert report.reused + len(report.completed) + len(report.same) == report.total
    assert not set(report.same) & set(report.completed)


def test_rerun_adds_nothing_and_is_fast(campaign_dir):
    campaign, stores = _stores(campaign_dir["dir"] / "c.yaml")
    n = _n_docs(stores)
    t0 = time.perf_counter()
    report = run_campaign(campaign, stores, echo=lambda _: None)
    rerun_s = time.perf_counter() - t0
    assert report.completed == []
    assert report.reused == report.total
    assert _n_docs(stores) == n
    assert rerun_s < 0.2 * campaign_dir["first_s"]
    stores.close()


def test_status_shows_progress_and_cost(campaign_dir):
    """Every job's cost is recorded (the killed CLI run's and the resumed run's)."""
    from lpsflow.dispatch.same import SAME_AS
    from lpsflow.status import RUN_STATS_KEY

    _, stores = _stores(campaign_dir["dir"] / "c.yaml")
    docs = list(stores.jobs.query({}, ["uuid", "name", "metadata", RUN_STATS_KEY]))
    # a calculation copied from the same one under another id cost nothing
    copies = {d["uuid"]: d["metadata"][SAME_AS] for d in docs
              if SAME_AS in (d.get("metadata") or {})}  # fmt: skip
    stats = {
        d["uuid"]: (d["name"], d.get(RUN_STATS_KEY))
        for d in docs
        if d["uuid"] not in copies
    }
    stores.close()
    assert all(s for _, s in stats.values()), [n for n, s in stats.values() if not s]
    assert all(source in stats for source in copies.values())
    relax = [s for n, s in stats.values() if n.startswith("relax")]
    assert relax and all(s["force_calls"] > 0 and s["cpu_s"] > 0 for s in relax)
    assert all(s["wall_s"] >= s["calculator_s"] for _, s in stats.values())
    if usage.per_job():  # Linux: each job's peak memory, the model included
        assert all(300 < s["peak_mb"] < 4096 for s in relax)
    proc = subprocess.run(
        [sys.executable, "-m", "lpsflow.cli", "status", "c.yaml"],
        cwd=campaign_dir["dir"], capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items() if k != "LPSFLOW_LAUNCHPAD"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    n = len(stats) + len(copies)
    assert f"{n} of {n} jobs done" in proc.stdout
    cost = re.search(r"cost of the (\d+) jobs .* (\d+) MLIP force calls", proc.stdout)
    assert cost and int(cost[1]) == len(stats)
    assert int(cost[2]) == sum(s["force_calls"] for _, s in stats.values())
    assert "longest: " in proc.stdout and "not run" not in proc.stdout
    assert "most memory: " in proc.stdout or not usage.per_job()


def _energy_per_atom(stores, uuid):
    out = stores.jobs.query_one({"uuid": uuid}, ["output"])["output"]
    return out["output"]["energy"] / len(out["structure"]["sites"]), out


def test_reaction_energies_match_hand_calculation(campaign_dir):
    _, stores = _stores(campaign_dir["dir"] / "c.yaml")
    df = load("e2e", stores)
    man = stores.campaigns.query_one({"campaign": "e2e"})
    roles = {j["role"]: j["uuid"] for j in man["jobs"]}
    e = {
        p: _energy_per_atom(stores, roles[f"relax:{p}"])[0]
        for p in ("Li2S", "P2S5", "Li7P3S11", "Li4P2S6", "S", "Al2S3")
    }
    # 3.5 Li2S + 1.5 P2S5 -> Li7P3S11, per atom of the reaction (21 atoms)
    li7 = (21 * e["Li7P3S11"] - 3.5 * 3 * e["Li2S"] - 1.5 * 7 * e["P2S5"]) / 21
    # 2 Li2S + P2S5 -> Li4P2S6 + S (13 atoms)
    li4 = (12 * e["Li4P2S6"] + e["S"] - 2 * 3 * e["Li2S"] - 7 * e["P2S5"]) / 13
    row = df.iloc[0]
    assert row["dE_Li7P3S11"] == pytest.approx(li7, abs=1e-9)
    assert row["dE_Li4P2S6"] == pytest.approx(li4, abs=1e-9)
    # core Li9AlP4S16 (x = 1/4: 4.5 Li2S + 2 P2S5 + 0.5 Al2S3), lowest relaxed candidate
    cores = [  # the relax_top lowest single points at doping.x
        _energy_per_atom(stores, uuid)
        for role, uuid in roles.items()
        if re.fullmatch(r"relax:core:Al2S3:Li-site:\d+", role)
    ]
    assert cores
    for _, out in cores:
        assert out["structure"]["sites"] and len(out["structure"]["sites"]) == 30
    e_core = min(c[0] for c in cores)
    core = (
        30 * e_core - 4.5 * 3 * e["Li2S"] - 2 * 7 * e["P2S5"] - 0.5 * 5 * e["Al2S3"]
    ) / 30
    assert row["dE_core"] == pytest.approx(core, abs=1e-9)
    assert row["core"] == "Li2.25Al0.25PS4"
    assert -1 < row["dE_core"] < 0  # forms from the precursors on CHGNet
    stores.close()


def test_results_cli_formats(campaign_dir):
    d = campaign_dir["dir"]

    def cli(*args):
        proc = subprocess.run(
            [sys.executable, "-m", "lpsflow.cli", "results", "c.yaml", *args],
            cwd=d,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    table = cli()
    assert "Al2S3" in table and "Li2.25Al0.25PS4" in table and "Li7P3S11" in table
    rows = json.loads(cli("--format", "json"))
    assert rows[0]["accelerant"] == "Al2S3"
    assert isinstance(rows[0]["converged"], bool)
    assert len(rows[0]["job_core"]) == 36
    csv = cli("--format", "csv")
    header, first = csv.splitlines()[:2]
    assert "dE_core" in header.split(",")
    value = float(first.split(",")[header.split(",").index("dE_core")])
    assert value == pytest.approx(rows[0]["dE_core"], abs=1e-9)


def test_solubility_series_and_phase_model_from_campaign(campaign_dir):
    d = campaign_dir["dir"]
    rows = json.loads(
        subprocess.run(
            [sys.executable, "-m", "lpsflow.cli", "results", "c.yaml", "-f", "json"],
            cwd=d,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
    )
    row = rows[0]
    assert set(row["e_hull_meV_by_x"]) == set(row["dF_meV_by_x"]) == {"1/8", "1/4"}
    # the limit minimises dF: at 1/4 only if dF still falls there
    limit, label, d_f = row["x_solubility"], row["solubility"], row["dF_meV_by_x"]
    assert 0 < limit <= 0.25
    if label == ">= 1/4":  # dF still falls at the largest x: lowest of those computed
        assert limit == 0.25 and d_f["1/4"] <= min(d_f.values())
    else:
        assert limit < 0.25
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lpsflow.cli",
            "phase",
            "LPS7228",
            "-a",
            "Al2S3",
            "--campaign",
            "c.yaml",
            "-f",
            "json",
        ],
        cwd=d,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"solubility x = {limit:g}" in proc.stderr
    assert "LPS7228" in proc.stdout


def test_binding_energies_in_results_and_interfaces_exported(campaign_dir):
    d = campaign_dir["dir"]
    _, stores = _stores(d / "c.yaml")
    row = load("e2e", stores).iloc[0]
    man = stores.campaigns.query_one({"campaign": "e2e"})
    roles = {j["role"]: j["uuid"] for j in man["jobs"]}
    for kind, label, area in (("hetero", "Al2S3", 303.2), ("homo", "Li7P3S11", 149.0)):
        doc = stores.jobs.query_one({"uuid": roles[f"binding:{kind}:{label}"]})
        point = doc["output"]["points"][0]
        # references from both starts, the lower energy used (the default)
        assert point["references"] == "lowest"
        assert {point["film_from"], point["substrate_from"]} <= {
            "relaxed_interface",
            "screened_cell",
        }
        parts = stores.jobs.query_one(
            {"uuid": roles[f"parts:interface:{kind}:{label}:n1"]}
        )
        assert parts["output"]["interface_job"] == point["jobs"]["interface"]
        used = {point["jobs"]["substrate"], point["jobs"]["substrate_other"]}
        assert used == {
            roles[f"relax:interface:{kind}:{label}:n1:substrate"],
            roles[f"relax:interface:{kind}:{label}:cut:substrate"],
        }
        assert row[f"area_{kind}"] == pytest.approx(area, rel=0.05)  # relaxed bulks
        assert row[f"job_binding_{kind}"] == roles[f"binding:{kind}:{label}"]
        if point["converged"]:
            e = point["e_interface"] - point["e_film"] - point["e_substrate"]
            assert row[f"E_bind_{kind}"] == pytest.approx(e / row[f"area_{kind}"])
        else:
            assert row[f"E_bind_{kind}"] is None
    assert 0.03 < row["strain_hetero"] < 0.07 and row["strain_homo"] < 1e-6
    assert row["binding_references_hetero"] == "lowest"
    if row["E_bind_hetero"] is not None and row["E_bind_homo"] is not None:
        diff = row["E_bind_hetero"] - row["E_bind_homo"]
        assert row["dE_bind"] == pytest.approx(diff)
    stores.close()
    table = subprocess.run(
        [sys.executable, "-m", "lpsflow.cli", "results", "c.yaml"],
        cwd=d, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    binding = _section(table, "Binding of n Li7P3S11(010) layers")
    assert binding[2].split() == ["series", "n=1", "area", "(A^2)", "strain", "(%)"]
    assert [r.split()[:2] for r in binding[3:5]] == [
        ["Al2S3", "hetero"],
        ["Li7P3S11", "homo"],
    ]
    assert all(_number(r.split()[2]) for r in binding[3:5])  # E_bind at n = 1
    assert "relaxed alone, from both their parts of each relaxed interface" in table
    proc = subprocess.run(
        [sys.executable, "-m", "lpsflow.cli", "structures", "c.yaml",
         "--kind", "interface", "-f", "poscar", "-o", "ifaces"],
        cwd=d, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.name for p in (d / "ifaces").glob("*.vasp"))
    assert "relax_interface_hetero_Al2S3_n1.vasp" in written
    assert "relax_interface_homo_Li7P3S11_n1_film.vasp" in written
    assert "relax_interface_homo_Li7P3S11_n1_substrate.vasp" in written
    text = (d / "ifaces" / "relax_interface_hetero_Al2S3_n1.vasp").read_text()
    assert "Selective dynamics" in text.splitlines()[7]  # fixed substrate layer


def test_li_chemical_potentials_in_results(campaign_dir):
    _, stores = _stores(campaign_dir["dir"] / "c.yaml")
    row = load("e2e", stores).iloc[0]
    man = stores.campaigns.query_one({"campaign": "e2e"})
    roles = {j["role"]: j["uuid"] for j in man["jobs"]}
    for col, tag in (("core", "core:Al2S3"), ("Li7P3S11", "Li7P3S11")):
        doc = stores.jobs.query_one({"uuid": roles[f"mu_li:{tag}"]})["output"]
        defect = stores.jobs.query_one({"uuid": roles[f"relax:vacancy:{tag}:0"]})
        host = stores.jobs.query_one({"uuid": roles[f"static:vacancy:{tag}:host"]})
        li = stores.jobs.query_one({"uuid": roles["relax:Li"]})["output"]
        n_host = len(host["output"]["structure"]["sites"])
        assert len(defect["output"]["structure"]["sites"]) == n_host - 1
        e_v = (
            defect["output"]["output"]["energy"]
            + li["output"]["energy"] / len(li["structure"]["sites"])
            - host["output"]["output"]["energy"]
        )
        if doc["vacancies"][0]["converged"]:
            assert row[f"mu_Li_{col}"] == pytest.approx(-e_v)
        else:
            assert row[f"mu_Li_{col}"] is None
    if row["mu_Li_core"] is not None and row["mu_Li_Li7P3S11"] is not None:
        assert row["dmu_Li"] == pytest.approx(row["mu_Li_core"] - row["mu_Li_Li7P3S11"])
    stores.close()


def test_grain_boundaries_gb_sites_and_neb_in_results(campaign_dir):
    from lpsflow.descriptors.migration.jobs import unrelaxed

    d = campaign_dir["dir"]
    _, stores = _stores(d / "c.yaml")
    row = load("e2e", stores).iloc[0]
    man = stores.campaigns.query_one({"campaign": "e2e"})
    roles = {j["role"]: j["uuid"] for j in man["jobs"]}

    def out(role):
        return stores.jobs.query_one({"uuid": roles[role]})["output"]

    # GB energies: the formula of the stored relaxed energies, or None
    for kind, label, n_atoms, angle in (
        ("homo", "Li7P3S11", 84, 180.0),
        ("hetero", "Al2S3", None, None),
    ):
        scr, doc = out(f"screen:gb:{kind}:{label}"), out(f"gb:{kind}:{label}")
        cell = Structure.from_dict(doc["relaxed_cell"])
        grains = cell.site_properties["grain"]
        assert set(grains) == {"A", "B"}  # two grains
        assert doc["n_atoms_a"] + doc["n_atoms_b"] == len(cell)
        # the start the relaxation kept: the screened cell, which hops are classed on
        start = Structure.from_dict(doc["start_cell"])
        assert start == Structure.from_dict(scr["gb"])
        assert unrelaxed(doc, cell) == start
        if n_atoms:
            assert len(cell) == n_atoms
            assert scr["misorientation_angle"] == pytest.approx(angle, abs=1.0)
        else:  # hetero: core grain A, Li7P3S11 grain B
            pairs = list(zip(cell, grains, strict=True))
            a = Structure.from_sites([s for s, g in pairs if g == "A"])
            b = Structure.from_sites([s for s, g in pairs if g == "B"])
            assert "Al" in a.composition and "Al" not in b.composition
            assert b.composition.reduced_formula == "Li7P3S11"
        dist = cell.distance_matrix + 10 * np.eye(len(cell))
        assert dist.min() > 1.5  # no overlapping atoms after relaxation
        gamma = (
            doc["e_gb"]
            - doc["n_atoms_a"] * doc["e_a_per_atom"]
            - doc["n_atoms_b"] * doc["e_b_per_atom"]
        ) / (2 * doc["area"])
        if doc["converged"]:
            assert row[f"gamma_GB_{kind}"] == pytest.approx(gamma * 16.0218, rel=1e-4)
        else:
            assert row[f"gamma_GB_{kind}"] is None and doc["reason"]
        assert row[f"sigma_GB_{kind}"] == scr["sigma"]
    assert row["gamma_GB_core"] is None and row["job_gb_core"] is None  # not asked

    # vacancy near the hetero GB: one Li fewer than the GB cell, E_v formula
    gb_cell = Structure.from_dict(out("gb:hetero:Al2S3")["relaxed_cell"])
    defect = out("relax:vacancy:gb:Al2S3:0")
    host = out("static:vacancy:gb:Al2S3:host")
    n_li = gb_cell.composition["Li"]
    assert Structure.from_dict(defect["structure"]).composition["Li"] == n_li - 1
    assert len(host["structure"]["sites"]) == len(gb_cell)
    site = out("screen:vacancy:gb:Al2S3")["sites"][0]
    assert site["label"] == "gb" and site["distance_to_boundary"] <= 3.0
    li = out("relax:Li")
    e_v = (
        defect["output"]["energy"]
        + li["output"]["energy"] / len(li["structure"]["sites"])
        - host["output"]["energy"]
    )
    mu = out("mu_li:gb:Al2S3")
    if mu["vacancies"][0]["converged"]:
        assert row["mu_Li_gb"] == pytest.approx(-e_v)
    else:
        assert row["mu_Li_gb"] is None

    # NEB: the reported barrier is the band's maximum above its start
    for path, label, col in (
        ("bulk", "Li7P3S11", "Ea_bulk_Li7P3S11"),
        ("bulk", "Al2S3", "Ea_bulk"),
        ("gb", "Al2S3", "Ea_gb"),
        ("gb", "Li7P3S11", "Ea_gb_Li7P3S11"),
    ):
        doc = out(f"neb:{path}:{label}")
        run = doc["runs"][0]
        energies = run["energies"]
        assert len(run["images"]) == len(energies) == 3  # endpoints + 1 image
        assert run["climbing_image"] == 1
        if doc["converged"]:  # Ea from the lower endpoint (the forward barrier
            # from a higher initial end would understate an asymmetric hop)
            lower = min(energies[0], energies[-1])
            assert row[col] == pytest.approx(max(energies) - lower)
            assert doc["barrier"] == pytest.approx(max(energies) - energies[0])
            assert row[col] >= doc["barrier"] - 1e-12
        else:  # marked so, never a number, with the reason
            reason = f"neb_reason_{path}{'' if label == 'Al2S3' else '_Li7P3S11'}"
            assert row[col] is None and row[reason]
    # the bulk Li7P3S11 band converges at these settings: its profile is reported
    assert row["Ea_bulk_Li7P3S11"] is not None and row["Ea_bulk_Li7P3S11"] > 0
    stores.close()
    table = subprocess.run(
        [sys.executable, "-m", "lpsflow.cli", "results", "c.yaml"],
        cwd=d, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    gbs = _section(table, "Grain-boundary energies")
    assert gbs[2].split()[:2] == ["Li7P3S11", "homo"] and "[Sigma" in gbs[2]
    assert "migration barriers" in table and "Al2S3 (hetero GB / core bulk)" in table


def _section(text: str, title: str) -> list[str]:
    """The lines of one part of ``lpsflow results``: its title to the blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), None)
    return lines[start:end]


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
