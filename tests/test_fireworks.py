"""Cluster path end to end, in-process stand-ins only for the servers.

A LaunchPad on FireWorks' mongomock store (one process at a time, as FireWorks
supports), the real ``flow_to_workflow``, real rapidfire workers as subprocesses with
their own jobflow configuration (a shared on-disk job store), a job made to fail, a
run made to go silent, ``lpsflow status``, ``lpsflow rerun --failed/--lost``, and the
same ``lpsflow results`` as a local run of the same campaign.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from campaign_snippets import adaptive_tiny
from lpsflow.dispatch import usage

CAMPAIGN = """\
name: fwtest
accelerants: [Al2S3]
calculator: {fmax: 0.1, max_steps: 120}
doping: {x: 1/4, screen_top: 3, relax_top: 2}
interfaces: {enabled: false}
vacancies: {enabled: false}
grain_boundaries: {enabled: false}
neb: {enabled: false}
store: {path: store}
"""

FAILING_WORKER = """\
import sys
from lpsflow.calculators import mlip

original = mlip.MLIPRelaxMaker.run_ase


def run_ase(self, structure, prev_dir=None):
    if structure.composition.reduced_formula == "Al2S3":
        raise RuntimeError("injected failure: relax Al2S3")
    return original(self, structure, prev_dir)


mlip.MLIPRelaxMaker.run_ase = run_ase
from fireworks import FWorker, LaunchPad
from fireworks.core.rocket_launcher import rapidfire

# one pass over all that can run now (the silent run keeps its children waiting)
lp = LaunchPad.from_file(sys.argv[1])
rapidfire(lp, FWorker(name="test"), max_loops=1, sleep_time=1)
"""

SILENT_WORKER = """\
import sys
from fireworks import FWorker, LaunchPad

# a node that claims a job and dies without a word
lp = LaunchPad.from_file(sys.argv[1])
fw_id = lp.fireworks.find_one({"name": "relax Li4P2S6"}, {"fw_id": 1})["fw_id"]
fw, launch_id = lp.checkout_fw(FWorker(name="test"), sys.argv[2], fw_id=fw_id)
assert fw is not None and launch_id is not None
"""


class Env:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.mock = root / "mongomock.json"
        self.mock.write_text("{}")
        self.lp = root / "my_launchpad.yaml"
        self.lp.write_text("host: localhost\nport: 27017\nname: lpsflow_test\n")
        store = root / "store"
        spec = {
            "type": "MontyStore",
            "database_path": str(store),
            "database_name": "lpsflow",
            "storage": "sqlite",
        }
        (root / "jobflow.yaml").write_text(
            yaml.safe_dump(
                {
                    "JOB_STORE": {
                        "docs_store": {**spec, "collection_name": "jobs"},
                        "additional_stores": {
                            "data": {**spec, "collection_name": "data"}
                        },
                    }
                }
            )
        )
        (root / "c.yaml").write_text(CAMPAIGN)
        self.env = {
            **os.environ,
            "MONGOMOCK_SERVERSTORE_FILE": str(self.mock),
            "JOBFLOW_CONFIG_FILE": str(root / "jobflow.yaml"),
            "LPSFLOW_LAUNCHPAD": str(self.lp),
            "OMP_NUM_THREADS": "2",
        }

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            list(args),
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if check:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    def lpsflow(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(sys.executable, "-m", "lpsflow.cli", *args, check=check)

    def script(self, text: str, *args: str) -> subprocess.CompletedProcess:
        path = self.root / "script.py"
        path.write_text(textwrap.dedent(text))
        return self.run(sys.executable, str(path), *args)

    def fireworks(self) -> dict[str, dict]:
        """name -> {state, launches} read in a subprocess (one process at a time)."""
        proc = self.script(
            """
            import json, sys
            from fireworks import LaunchPad
            lp = LaunchPad.from_file(sys.argv[1])
            docs = lp.fireworks.find({})
            print(json.dumps({d["name"]: {"state": d["state"],
                                          "launches": d["launches"]} for d in docs}))
            """,
            str(self.lp),
        )
        return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    return Env(tmp_path_factory.mktemp("fw"))


def test_submit_is_idempotent(cluster):
    proc = cluster.lpsflow("submit", "c.yaml", check=False)
    assert proc.returncode == 2 and "lpad -l my_launchpad.yaml reset" in proc.stderr
    cluster.script(
        """
        import sys
        from fireworks import LaunchPad
        LaunchPad.from_file(sys.argv[1]).reset("", require_password=False)
        """,
        str(cluster.lp),
    )
    first = cluster.lpsflow("submit", "c.yaml")
    assert "added" in first.stderr
    n = len(cluster.fireworks())
    assert n > 10
    # workers pull READY fireworks by spec._priority: the longest chains first
    proc = cluster.script(
        """
        import json, sys
        from fireworks import LaunchPad
        lp = LaunchPad.from_file(sys.argv[1])
        prio = {d["fw_id"]: d["spec"].get("_priority") for d in lp.fireworks.find({})}
        links = [(int(a), b) for w in lp.workflows.find({})
                 for a, bs in w["links"].items() for b in bs]
        print(json.dumps({"prio": prio, "links": links}))
        """,
        str(cluster.lp),
    )
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    prio = {int(k): v for k, v in got["prio"].items()}
    assert len(prio) == n and all(v > 0 for v in prio.values())
    assert got["links"] and all(prio[a] > prio[b] for a, b in got["links"])
    again = cluster.lpsflow("submit", "c.yaml")
    assert "nothing to add" in again.stderr
    assert f"{n} of {n} jobs already on the LaunchPad" in again.stderr
    assert len(cluster.fireworks()) == n


def test_failure_status_rerun_and_lost_run(cluster):
    (cluster.root / "work").mkdir(exist_ok=True)
    cluster.script(SILENT_WORKER, str(cluster.lp), str(cluster.root / "work"))
    cluster.script(FAILING_WORKER, str(cluster.lp))
    fws = cluster.fireworks()
    assert fws["relax Al2S3"]["state"] == "FIZZLED"
    assert fws["relax Li4P2S6"]["state"] == "RUNNING"
    completed = {n: f["launches"] for n, f in fws.items() if f["state"] == "COMPLETED"}
    assert "relax Li7P3S11" in completed

    status = cluster.lpsflow("status", "fwtest").stdout
    assert "FIZZLED" in status and "RUNNING" in status
    assert "relax Al2S3: RuntimeError: injected failure: relax Al2S3" in status
    assert re.search(r"job time of the \d+ completed jobs: \d+ s", status)
    # per kind, the completed ones' job time (a LaunchPad records no CPU time)
    assert re.search(r"\n  relax .*COMPLETED.* \d+ s job time\n", status), status

    time.sleep(2)
    lost = cluster.lpsflow("rerun", "fwtest", "--lost", "--expiration-hours", "0.0003")
    assert "requeued 1 lost job" in lost.stderr
    rerun = cluster.lpsflow(
        "rerun", "fwtest", "--failed", "--kind", "relax", "--error", "injected fail"
    )
    assert "rerunning 1 failed job" in rerun.stderr

    rlaunch = Path(sys.executable).parent / "rlaunch"
    cluster.run(
        str(rlaunch),
        "-l",
        str(cluster.lp),
        "rapidfire",
        "--sleep",
        "1",
        "--timeout",
        "800",
    )
    fws = cluster.fireworks()
    assert {f["state"] for f in fws.values()} == {"COMPLETED"}
    # work completed before the failure was not run again
    for name, launches in completed.items():
        assert fws[name]["launches"] == launches, name
    assert "0 FIZZLED" not in cluster.lpsflow("status", "fwtest").stdout


def test_cluster_results_equal_local_run(cluster, tmp_path):
    from lpsflow.campaign import load_campaign
    from lpsflow.dispatch.local import run_campaign
    from lpsflow.results import load
    from lpsflow.store import open_stores

    remote = json.loads(cluster.lpsflow("results", "c.yaml", "-f", "json").stdout)
    # the workers recorded every job's cost in its document, as a local run does
    out = cluster.lpsflow("status", "c.yaml", "--store", "store").stdout
    n = len(cluster.fireworks())
    assert f"{n} of {n} jobs done" in out and "no recorded cost" not in out, out
    cost = re.search(r"cost of the (\d+) jobs .* (\d+) MLIP force calls", out)
    assert cost and int(cost[1]) == n and int(cost[2]) > 0, out
    assert re.search(r"\n  relax .* \d+ force calls", out), out
    assert "most memory: " in out or not usage.per_job()
    # and the LaunchPad's status shows it beside the job times
    out = cluster.lpsflow("status", "c.yaml").stdout
    assert f"recorded by the workers in the results store, {n} jobs: " in out, out
    assert re.search(r"\n  relax .*COMPLETED.* job time, .* CPU, \d+ force calls", out)
    (tmp_path / "c.yaml").write_text(CAMPAIGN)
    campaign = load_campaign(tmp_path / "c.yaml")
    stores = open_stores(campaign.store, campaign.base_dir)
    assert run_campaign(campaign, stores, echo=lambda _: None).ok
    local = load("fwtest", stores).to_dict(orient="records")
    stores.close()
    assert len(remote) == len(local) == 2  # the Li-site and empty-site schemes
    local_by = {r["scheme"]: r for r in local}
    for row in remote:
        for key in ("dE_core", "dE_Li7P3S11", "dE_Li4P2S6", "dE_Li3PS4"):
            assert row[key] == pytest.approx(local_by[row["scheme"]][key], abs=1e-6)
        assert row["job_core"] == local_by[row["scheme"]]["job_core"]  # the same job


def test_bad_input_leaves_launchpad_unchanged(cluster, tmp_path):
    before = cluster.fireworks()
    proc = cluster.lpsflow("status", "nosuch", check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: no campaign named 'nosuch' on the LaunchPad; campaigns on it: fwtest"
    ]
    proc = cluster.lpsflow("rerun", "nosuch", "--failed", check=False)
    assert proc.returncode == 2 and "no campaign named 'nosuch'" in proc.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("host: [localhost\n")
    proc = cluster.lpsflow("status", "fwtest", "-l", str(broken), check=False)
    assert proc.returncode == 2 and "is not valid YAML" in proc.stderr
    assert cluster.fireworks() == before


def test_unreachable_launchpad(tmp_path):
    lp = tmp_path / "lp.yaml"
    lp.write_text(
        "host: 127.0.0.1\nport: 9\nname: x\n"
        "mongoclient_kwargs: {serverSelectionTimeoutMS: 500}\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MONGOMOCK_SERVERSTORE_FILE"}
    proc = subprocess.run(
        [sys.executable, "-m", "lpsflow.cli", "status", "x", "-l", str(lp)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot use the LaunchPad")


def test_status_says_when_the_campaign_file_changed_since_it_was_submitted(cluster):
    assert "has changed" not in cluster.lpsflow("status", "c.yaml").stdout
    changed = cluster.root / "changed.yaml"
    changed.write_text(CAMPAIGN.replace("fmax: 0.1", "fmax: 0.05"))
    out = " ".join(cluster.lpsflow("status", str(changed)).stdout.split())
    assert "fwtest" in out and "has changed since it was last submitted" in out
    assert f"`lpsflow submit {changed}` adds what the file asks for now" in out


def _square(x: float) -> float:
    return x * x


def test_the_firework_task_records_the_cost_and_never_fails_a_stored_job(monkeypatch):
    """In process: the cost lands in the document; a store that will not take it
    leaves a warning, and the finished job stays finished."""
    from jobflow import Job, JobStore
    from maggma.stores import MemoryStore

    from lpsflow.dispatch import firetask
    from lpsflow.status import RUN_STATS_KEY

    store = JobStore(MemoryStore())
    job = Job(_square, function_args=(3.0,))
    firetask.CampaignJobFiretask(job=job, store=store).run_task({})
    doc = store.query_one({"uuid": job.uuid}, load=True)
    assert doc["output"] == 9.0
    assert doc[RUN_STATS_KEY]["wall_s"] > 0 and doc[RUN_STATS_KEY]["force_calls"] == 0

    def unreachable(*args):
        raise ConnectionError("store gone")

    monkeypatch.setattr(firetask, "record_stats", unreachable)
    again = Job(_square, function_args=(4.0,))
    with pytest.warns(UserWarning, match="cost was not recorded: store gone"):
        firetask.CampaignJobFiretask(job=again, store=store).run_task({})
    assert store.get_output(again.uuid) == 16.0


ADAPTIVE = adaptive_tiny("fwadaptive", "Al2S3", max_rounds=2)


def test_an_adaptive_campaign_runs_its_rounds_on_the_launchpad(tmp_path):
    """Round 1's firework adds round 2's jobs to the workflow from its stored
    decision; the workers run them; results equal a local run's."""
    from lpsflow.campaign import load_campaign
    from lpsflow.dispatch.local import run_campaign
    from lpsflow.results import load
    from lpsflow.store import open_stores

    (tmp_path / "fw").mkdir()
    env = Env(tmp_path / "fw")
    (env.root / "c.yaml").write_text(ADAPTIVE)
    env.script(
        """
        import sys
        from fireworks import LaunchPad
        LaunchPad.from_file(sys.argv[1]).reset("", require_password=False)
        """,
        str(env.lp),
    )
    env.lpsflow("submit", "c.yaml")
    before = len(env.fireworks())
    rlaunch = Path(sys.executable).parent / "rlaunch"
    env.run(str(rlaunch), "-l", str(env.lp), "rapidfire", "--sleep", "1")
    fws = env.fireworks()
    assert len(fws) > before and "round 2 Al2S3" in fws
    assert {f["state"] for f in fws.values()} == {"COMPLETED"}
    remote = json.loads(env.lpsflow("results", "c.yaml", "-f", "json").stdout)
    status = env.lpsflow("status", "c.yaml").stdout  # the LaunchPad's, and the rounds
    assert "adaptive sampling, Al2S3: 2 rounds; stopped: " in status, status
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "c.yaml").write_text(ADAPTIVE)
    campaign = load_campaign(tmp_path / "local" / "c.yaml")
    with open_stores(campaign.store, campaign.base_dir) as stores:
        assert run_campaign(campaign, stores, echo=lambda _: None).ok
        (local,) = load("fwadaptive", stores).to_dict(orient="records")
    (row,) = remote
    assert row["rounds"] == local["rounds"] == 2
    assert row["sampling"] == local["sampling"] and row["sampling"]  # stopped
    assert row["mu_Li_core_samples"] == local["mu_Li_core_samples"] == 2
    for key in ("dE_core", "mu_Li_core", "mu_Li_Li7P3S11"):
        assert row[key] == pytest.approx(local[key], abs=1e-6), key
