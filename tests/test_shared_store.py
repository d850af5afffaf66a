"""Runners that share one store: two local runs, a killed one, a FireWorks worker.

Each computes a job only after claiming it (``lpsflow.dispatch.claims``): every job
is computed once, its documents written once, and the descriptors are those of a
single run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from lpsflow.status import RUN_STATS_KEY
from lpsflow.store import embedded_stores
from test_fireworks import CAMPAIGN as FW_CAMPAIGN

#: test_fireworks' campaign (bulk phases and doped cores, 25 jobs), renamed.
CAMPAIGN = FW_CAMPAIGN.replace("name: fwtest", "name: shared")

#: A relaxation of one formula that first says so in a file, then takes ``SLOW_S``
#: seconds longer (a long job to be killed in).
SLOW = """\
import os, sys, time
from pathlib import Path
from lpsflow.calculators import mlip

original = mlip.MLIPRelaxMaker.run_ase


def run_ase(self, structure, prev_dir=None):
    if structure.composition.reduced_formula == os.environ["SLOW_FORMULA"]:
        Path(os.environ["SLOW_MARK"]).write_text(str(os.getpid()))
        time.sleep(float(os.environ["SLOW_S"]))
    return original(self, structure, prev_dir)


mlip.MLIPRelaxMaker.run_ase = run_ase
"""
#: ``lpsflow run`` with :data:`SLOW`.
SLOW_RUN = (
    SLOW
    + """\
from lpsflow.cli import main

sys.argv = ["lpsflow", *sys.argv[1:]]
main()
"""
)
#: A FireWorks worker: one pass over the LaunchPad ``sys.argv[1]``.
WORKER = """\
import sys
from fireworks import FWorker, LaunchPad
from fireworks.core.rocket_launcher import rapidfire

rapidfire(LaunchPad.from_file(sys.argv[1]), FWorker(name="w"), max_loops=1,
          sleep_time=1)
"""

# one core each: two runners on two cores, and the same threads as the reference
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "LPSFLOW_PROGRESS_S": "0"}


def _campaign(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "c.yaml").write_text(CAMPAIGN)
    return root


def _start(root: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    """A process in ``root`` (default: ``lpsflow run c.yaml --workers 1``)."""
    default = (sys.executable, "-m", "lpsflow.cli", "run", "c.yaml", "--workers", "1")
    return subprocess.Popen(
        list(args or default),
        cwd=root,
        env=env or ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _results(root: Path) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "lpsflow.cli", "results", "c.yaml", "-f", "json"],
        cwd=root, env=ENV, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


#: ``lpsflow run``'s last line: jobs computed here, reused, computed by other runners.
SUMMARY = re.compile(r"(\d+) computed, (\d+) reused, (?:(\d+) computed by other "
                     r"runners, )?0 failed, 0 skipped")  # fmt: skip


def _computed(stderr: str) -> list[str]:
    return re.findall(r"^\[\d+/\d+\] (.+): done in ", stderr, re.M)


def _job_docs(root: Path) -> list[dict]:
    stores = embedded_stores(root / "store", create=False).connect()
    try:
        return list(
            stores.jobs.docs_store.query({}, ["uuid", "index", "name", RUN_STATS_KEY])
        )
    finally:
        stores.close()


def _assert_each_job_once(docs: list[dict], computed_by: dict[int, list[str]]):
    """One document per job, each from the runner that said it computed it."""
    pairs = Counter((d["uuid"], d["index"]) for d in docs)
    assert max(pairs.values()) == 1, pairs.most_common(3)
    by_pid = Counter(d[RUN_STATS_KEY]["pid"] for d in docs)
    assert by_pid == {pid: len(names) for pid, names in computed_by.items() if names}
    assert sum(len(n) for n in computed_by.values()) == len(docs)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> list[dict]:
    """The descriptors of one run alone."""
    root = _campaign(tmp_path_factory.mktemp("single"))
    proc = _start(root)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return _results(root)


def test_two_runs_at_once_split_the_work(reference, tmp_path):
    root = _campaign(tmp_path)
    runs = [_start(root), _start(root)]
    errs = [p.communicate(timeout=600)[1] for p in runs]
    assert [p.returncode for p in runs] == [0, 0], errs
    computed = {p.pid: _computed(e) for p, e in zip(runs, errs, strict=True)}
    assert all(computed.values()), errs  # both did some of the work
    _assert_each_job_once(_job_docs(root), computed)
    n_jobs = len(_job_docs(root))
    for err in errs:  # every job accounted for in each runner's summary
        done, reused, elsewhere = (int(g or 0) for g in SUMMARY.search(err).groups())
        assert done + reused + elsewhere == n_jobs, err
    assert "computes it; waiting for it" in "".join(errs)
    assert _results(root) == reference


def test_a_killed_runner_is_taken_over(reference, tmp_path):
    root = _campaign(tmp_path)
    (root / "slow.py").write_text(SLOW_RUN)
    mark = root / "slow-started"
    env = {**ENV, "SLOW_FORMULA": "Li3PS4", "SLOW_MARK": str(mark), "SLOW_S": "600"}
    first = _start(root, sys.executable, "slow.py", "run", "c.yaml", "--workers",
                   "1", env=env)  # fmt: skip
    deadline = time.monotonic() + 300
    while not mark.exists():
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    # while it runs: status names the runner and the job it holds
    status = subprocess.run(
        [sys.executable, "-m", "lpsflow.cli", "status", "c.yaml"],
        cwd=root, env=ENV, capture_output=True, text=True,
    )  # fmt: skip
    assert status.returncode == 0, status.stderr
    assert re.search(
        rf"runners holding its jobs \(1\):\n  lpsflow run \(pid {first.pid} on \S+\), "
        r"running since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: 1 job \(relax Li3PS4\)",
        status.stdout,
    ), status.stdout
    second = _start(root)
    lines: list[str] = []
    for line in second.stderr:  # it leaves the held job to the first runner
        lines.append(line)
        if "relax Li3PS4: lpsflow run" in line and "waiting for it" in line:
            break
    else:
        pytest.fail("".join(lines))
    first.send_signal(signal.SIGKILL)
    first_err = first.communicate(timeout=60)[1]
    rest = second.communicate(timeout=600)[1]
    err = "".join(lines) + rest
    assert second.returncode == 0, err
    assert f"relax Li3PS4: taken over from lpsflow run (pid {first.pid} on " in err
    computed = {first.pid: _computed(first_err), second.pid: _computed(err)}
    assert "relax Li3PS4" in computed[second.pid]
    _assert_each_job_once(_job_docs(root), computed)
    assert _results(root) == reference


def _submitted(tmp_path: Path):
    """The campaign submitted to a fresh in-process LaunchPad beside ``store``."""
    from test_fireworks import Env

    cluster = Env(tmp_path)
    (tmp_path / "c.yaml").write_text(CAMPAIGN)
    cluster.env.update({"OMP_NUM_THREADS": "1", "LPSFLOW_PROGRESS_S": "0"})
    cluster.script(
        """
        import sys
        from fireworks import LaunchPad
        LaunchPad.from_file(sys.argv[1]).reset("", require_password=False)
        """,
        str(cluster.lp),
    )
    cluster.lpsflow("submit", "c.yaml")
    return cluster


@pytest.mark.slow  # the killed-worker test below covers the same meeting
def test_a_local_run_beside_a_fireworks_worker(reference, tmp_path):
    cluster = _submitted(tmp_path)
    (tmp_path / "worker.py").write_text(WORKER)
    worker = _start(tmp_path, sys.executable, "worker.py", str(cluster.lp),
                    env=cluster.env)  # fmt: skip
    local = _start(tmp_path, env=cluster.env)
    local_err = local.communicate(timeout=600)[1]
    worker_err = worker.communicate(timeout=600)[1]
    assert (local.returncode, worker.returncode) == (0, 0), local_err + worker_err
    fws = cluster.fireworks()
    assert {f["state"] for f in fws.values()} == {"COMPLETED"}
    docs = _job_docs(tmp_path)
    local_jobs = _computed(local_err)
    pids = Counter(d[RUN_STATS_KEY]["pid"] for d in docs)
    assert pids[local.pid] == len(local_jobs) > 0
    assert sum(pids.values()) == len(docs) == len(fws)
    assert len(pids) == 2  # the worker computed the rest
    assert max(Counter((d["uuid"], d["index"]) for d in docs).values()) == 1
    assert _results(tmp_path) == reference


@pytest.mark.slow  # ~60 s / ~40 s: run with LPSFLOW_RUN_SLOW=1 (README)
def test_a_local_run_takes_over_from_a_killed_fireworks_worker(reference, tmp_path):
    cluster = _submitted(tmp_path)
    (tmp_path / "slow_worker.py").write_text(SLOW + WORKER)
    (tmp_path / "worker.py").write_text(WORKER)
    mark = tmp_path / "slow-started"
    env = {**cluster.env, "SLOW_FORMULA": "Li3PS4", "SLOW_MARK": str(mark),
           "SLOW_S": "600"}  # fmt: skip
    worker = _start(tmp_path, sys.executable, "slow_worker.py", str(cluster.lp),
                    env=env)  # fmt: skip
    deadline = time.monotonic() + 300
    while not mark.exists():
        assert worker.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    local = _start(tmp_path, env=cluster.env)
    lines: list[str] = []
    for line in local.stderr:
        lines.append(line)
        if "relax Li3PS4: FireWorks worker" in line and "waiting for it" in line:
            break
    else:
        pytest.fail("".join(lines))
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=60)
    err = "".join(lines) + local.communicate(timeout=600)[1]
    assert local.returncode == 0, err
    assert f"relax Li3PS4: taken over from FireWorks worker (pid {worker.pid} " in err
    # a worker started since completes every firework without computing anything
    again = _start(tmp_path, sys.executable, "worker.py", str(cluster.lp),
                   env=cluster.env)  # fmt: skip
    again_err = again.communicate(timeout=600)[1]
    assert again.returncode == 0, again_err
    assert {f["state"] for f in cluster.fireworks().values()} == {"COMPLETED"}
    docs = _job_docs(tmp_path)
    pids = Counter(d[RUN_STATS_KEY]["pid"] for d in docs)
    assert pids[local.pid] == len(_computed(err)) > 0
    assert set(pids) <= {local.pid, worker.pid}  # none by the later worker
    assert max(Counter((d["uuid"], d["index"]) for d in docs).values()) == 1
    assert _results(tmp_path) == reference
