"""Parallel local runs: worker processes give the serial run's store, failures stay
local to their job, and the worker count is chosen sensibly."""

from __future__ import annotations

import copy
import json
from enum import StrEnum
from pathlib import Path

import numpy as np
import pytest
from jobflow import Flow, job
from pydantic import BaseModel, ConfigDict
from pymatgen.core import Structure

from lpsflow.campaign import CalculatorSettings
from lpsflow.dispatch import usage
from lpsflow.dispatch.local import run_flow
from lpsflow.dispatch.processes import MAX_AUTO_WORKERS_GPU
from lpsflow.dispatch.workers import MAX_AUTO_WORKERS, auto_workers, cpu_count
from lpsflow.status import RUN_STATS_KEY
from lpsflow.store import embedded_stores


@job
def square(x: float) -> float:
    """x^2."""
    return x * x


@job(data="values")
def series(x: float, n: int) -> dict:
    """A document whose ``values`` go to the data store (as atomate2 trajectories)."""
    return {"values": [x * i for i in range(n)], "n": n}


@job
def total(a: float, b: dict) -> float:
    """a + sum(b['values'])."""
    return a + sum(b["values"])


@job
def broken(x: float) -> float:
    """Always fails."""
    raise ValueError(f"cannot handle {x}")


def _flow() -> tuple[Flow, dict]:
    a = square(3.0)
    b = series(a.output, 50)
    c = total(a.output, b.output)
    bad = broken(a.output)
    after_bad = square(bad.output)
    jobs = {"a": a, "b": b, "c": c, "bad": bad, "after_bad": after_bad}
    return Flow(list(jobs.values())), {k: j.uuid for k, j in jobs.items()}


def _run(tmp_path, name: str, workers: int, flow=None):
    flow, uuids = flow or _flow()
    stores = embedded_stores(tmp_path / name).connect()
    lines: list[str] = []
    report = run_flow(flow, stores, tmp_path / f"work-{name}", None, lines.append,
                      workers=workers)  # fmt: skip
    return report, uuids, stores, lines


def _output(stores, uuid):
    return stores.jobs.get_output(uuid, load=True)


def test_workers_store_what_a_serial_run_stores(tmp_path):
    par, up, sp, lines = _run(tmp_path, "par", 2)
    ser, us, ss, _ = _run(tmp_path, "ser", 1)
    assert par.workers == 2 and ser.workers == 1
    for report, u in ((par, up), (ser, us)):
        assert set(report.completed) == {u["a"], u["b"], u["c"]}
        assert set(report.failed) == {u["bad"]}
        assert "cannot handle 9.0" in report.failed[u["bad"]]
        assert report.skipped == [u["after_bad"]]
        # CPU time of every computed job, from the process that ran it
        assert set(report.job_cpu_s) == set(report.completed)
        assert all(0 <= t < 60 for t in report.job_cpu_s.values())
    assert _output(sp, up["c"]) == _output(ss, us["c"]) == 9.0 + 9.0 * 1225
    # the data-store blob came back from the worker and resolves
    assert _output(sp, up["b"])["values"] == _output(ss, us["b"])["values"]
    assert sp.jobs.additional_stores["data"].count({}) == 1
    raw = sp.jobs.query_one({"uuid": up["b"]}, load=False)["output"]["values"]
    assert raw["store"] == "data" and raw["blob_uuid"]
    # the worker's traceback is kept where the progress line says
    bad_line = next(x for x in lines if "FAILED" in x)
    path = bad_line.split("traceback in ")[1]
    assert "ValueError: cannot handle 9.0" in Path(path).read_text()
    # both record each job's cost in its document
    for stores, u in ((sp, up), (ss, us)):
        doc = stores.jobs.query_one({"uuid": u["c"]}, load=False)
        assert doc[RUN_STATS_KEY]["wall_s"] > 0 and doc[RUN_STATS_KEY]["cpu_s"] >= 0
        assert stores.jobs.query_one({"uuid": u["bad"]}) is None
    # the workers report their peak memory (a Python with numpy: tens of MB)
    assert 20 < par.worker_peak_rss_mb < 4096 and ser.worker_peak_rss_mb == 0
    # and each job's, on Linux (what a batch job running it must request)
    if usage.per_job():
        for stores, u in ((sp, up), (ss, us)):
            doc = stores.jobs.query_one({"uuid": u["c"]}, load=False)
            assert 20 < doc[RUN_STATS_KEY]["peak_mb"] < 4096


@job
def hold(mb: int, after: int | None = None) -> int:
    """Hold ``mb`` MB of touched memory for a moment, then let it go."""
    block = np.ones(mb * 2**20 // 8)
    return int(block.size)


def test_each_job_has_its_own_peak_memory(tmp_path):
    """A small job after a big one in the same process: not the big one's peak."""
    if not usage.per_job():
        pytest.skip("this system cannot reset a process's peak memory")
    big = hold(300)
    small = hold(1, after=big.output)  # runs after the big one
    stores = embedded_stores(tmp_path / "s").connect()
    run_flow(Flow([big, small]), stores, tmp_path / "w", None, lambda _: None,
             workers=1)  # fmt: skip
    peak = {
        d["uuid"]: d[RUN_STATS_KEY]["peak_mb"]
        for d in stores.jobs.query({}, ["uuid", RUN_STATS_KEY])
    }
    stores.close()
    assert peak[big.uuid] - peak[small.uuid] > 250, peak
    assert usage.peak_rss_mb() > peak[big.uuid] - 0.1  # the process keeps its peak


def test_rerun_with_workers_reuses_everything(tmp_path):
    flow = _flow()
    _, _, stores, _ = _run(tmp_path, "s", 2, flow)
    stores.close()
    report, uuids, *_ = _run(tmp_path, "s", 2, flow)
    assert report.reused == 3 and not report.completed
    assert set(report.failed) == {uuids["bad"]}  # tried again, fails again


def test_auto_workers():
    mlip = CalculatorSettings()
    assert auto_workers(mlip) == max(1, min(cpu_count(), MAX_AUTO_WORKERS))
    # a GPU is shared: its workers overlap their CPU-side work
    gpu = auto_workers(CalculatorSettings(device="cuda"))
    assert gpu == max(1, min(cpu_count(), MAX_AUTO_WORKERS_GPU)) >= auto_workers(mlip)
    assert auto_workers(CalculatorSettings(backend="vasp")) == 1


def test_parallel_jobs_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("LPSFLOW_DISABLE", "parallel_jobs")
    assert auto_workers(CalculatorSettings()) == 1


@pytest.mark.parametrize("workers", [0, -1])
def test_cli_rejects_zero_workers(workers, tmp_path):
    from typer.testing import CliRunner

    from lpsflow.cli import app

    config = tmp_path / "c.yaml"
    config.write_text("name: x\naccelerants: [Al2S3]\n")
    result = CliRunner().invoke(app, ["run", str(config), "--workers", str(workers)])
    assert result.exit_code != 0
    assert "workers" in result.output


def test_capture_store_keeps_what_a_job_stores():
    from lpsflow.dispatch.capture_store import CaptureStore

    store = CaptureStore("docs")
    store.connect()
    store.update([{"uuid": "a", "index": 1, "x": 1}], key=["uuid", "index"])
    store.update({"uuid": "a", "index": 2, "x": 2}, key=["uuid", "index"])
    store.update([{"uuid": "a", "index": 1, "x": 3}], key=["uuid", "index"])
    assert [d["x"] for d in store.query({})] == [3, 2]  # replaced in place
    assert store.count() == 2
    with pytest.raises(NotImplementedError):
        list(store.query({"uuid": "a"}))  # it cannot filter: no silent answers
    store.remove_docs({})
    assert store.count() == 0


@job
def lattice_cell(a: float) -> dict:
    """A dict holding a pymatgen Structure (a serialised object in the store)."""
    from pymatgen.core import Lattice, Structure

    s = Structure(Lattice.cubic(a), ["Li", "S"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    return {"structure": s, "tags": ["x", "y"]}


class Kind(StrEnum):
    """An enum field (stored as its value)."""

    BULK = "bulk"


class Inner(BaseModel):
    """A nested model (stored as a plain dict)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    structure: Structure
    energy: float


class Outer(BaseModel):
    """A document like atomate2's task documents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    structure: Structure
    inner: Inner
    kind: Kind
    selected: list[Structure]


@job
def outer_doc(a: float) -> Outer:
    """A pydantic document holding Structures."""
    from pymatgen.core import Lattice

    s = Structure(Lattice.cubic(a), ["Li", "S"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    t = s.copy()
    t.replace(0, "Na")
    return Outer(
        structure=s, inner=Inner(structure=t, energy=-1.0), kind=Kind.BULK,
        selected=[t, s],
    )  # fmt: skip


@job
def echo(*args, **kwargs) -> list:
    """Its inputs, as received."""
    return [list(args), kwargs]


def test_inputs_resolved_as_stored_match_jobflows(tmp_path, monkeypatch):
    from jobflow import Job
    from monty.json import MontyEncoder

    from lpsflow.dispatch.workers import decode_job, encode_job, encode_resolved

    a, b = square(2.0), series(3.0, 4)
    cell = lattice_cell(a.output)
    uses = echo(
        a.output,
        b.output["values"],  # a data-store blob
        cell.output["structure"],
        [cell.output["tags"][1], {"n": b.output["n"]}],
        key=cell.output,
    )
    # an object's attributes: a property, a field stored as a plain dict
    derived = echo(cell.output["structure"].volume, cell.output["structure"].lattice)
    # a pydantic document's Structures (as stored), a nested model's too
    doc = outer_doc(4.0)
    fields = echo(doc.output.structure, doc.output.inner.structure,
                  doc.output.selected[1])  # fmt: skip
    # a nested model and an enum are stored as plain values: jobflow resolves them
    nested, kind = echo(doc.output.inner), echo(doc.output.kind)
    flow = Flow([a, b, cell, uses, derived, doc, fields, nested, kind])
    uses, derived, fields, nested, kind = (
        copy.deepcopy(j) for j in (uses, derived, fields, nested, kind)
    )  # a run resolves them
    stores = embedded_stores(tmp_path / "s").connect()
    report = run_flow(flow, stores, tmp_path / "w", None, lambda _: None)
    assert len(report.completed) == 9

    def args(text: str) -> str:
        j = decode_job(text)
        return json.dumps([j.function_args, j.function_kwargs], cls=MontyEncoder)

    checked = (uses, derived, fields, nested, kind)
    resolved = {
        j.uuid: j.resolve_args(store=stores.jobs, inplace=False) for j in checked
    }
    fallbacks = []

    def jobflow_resolver(self, *a, **k):
        fallbacks.append(self.uuid)
        return resolved[self.uuid]

    monkeypatch.setattr(Job, "resolve_args", jobflow_resolver)
    for j in checked:
        assert args(encode_resolved(j, stores.jobs)) == args(
            encode_job(resolved[j.uuid])
        )
    # only attributes of objects and plain values inside pydantic models need jobflow
    assert fallbacks == [derived.uuid, nested.uuid, kind.uuid]
    monkeypatch.undo()
    decoded = decode_job(encode_resolved(uses, stores.jobs))
    assert decoded.function_args[0] == 4.0 and decoded.function_args[1] == [
        0.0,
        3.0,
        6.0,
        9.0,
    ]
    assert decoded.function_args[2].lattice.a == 4.0
    assert decoded.function_args[3] == ["y", {"n": 4}]
    volume, lattice = decode_job(encode_resolved(derived, stores.jobs)).function_args
    assert volume == 64.0 and lattice.volume == 64.0  # a Lattice, not its dict
    s, inner_s, sel = decode_job(encode_resolved(fields, stores.jobs)).function_args
    assert isinstance(s, Structure) and s.composition.reduced_formula == "LiS"
    assert inner_s.composition.reduced_formula == "NaS" and sel == s
    (inner,) = decode_job(encode_resolved(nested, stores.jobs)).function_args
    assert isinstance(inner, Inner) and inner.energy == -1.0
    (k,) = decode_job(encode_resolved(kind, stores.jobs)).function_args
    assert k == Kind.BULK  # a str enum: "bulk" both ways
    missing = echo(square(5.0).output)  # never run: jobflow's error
    with pytest.raises(ValueError, match="Could not resolve reference"):
        encode_resolved(missing, stores.jobs)


def test_frozen_cycles_are_collected_by_the_periodic_full_pass(monkeypatch):
    import gc
    import weakref

    from lpsflow.dispatch import workers

    class Node:
        pass

    monkeypatch.setattr(workers, "FULL_COLLECTION_EVERY", 3)
    monkeypatch.setattr(workers, "_freezes", 0)
    a, b = Node(), Node()
    a.other, b.other = b, a  # a reference cycle
    gone = weakref.ref(a)
    gc.collect()  # into the oldest generation
    del a, b
    try:
        workers.freeze_survivors()  # 1: frozen while unreachable
        gc.collect()
        assert gone() is not None  # a frozen cycle escapes ordinary collections
        workers.freeze_survivors()  # 2
        workers.freeze_survivors()  # 3: the full pass over everything
        assert gone() is None
    finally:
        gc.unfreeze()


PARENT = """
import os, sys, time
from lpsflow.dispatch.workers import WorkerPool

if __name__ == "__main__":
    with WorkerPool(2) as pool:
        print(pool.submit(os.getpid).result(), flush=True)
        pool.submit(time.sleep, 600)
        time.sleep(600)
"""


@pytest.mark.parametrize("disable", ["", "fork_server"])
def test_workers_end_when_their_parent_is_killed(tmp_path, disable):
    import os
    import signal
    import subprocess
    import sys
    import time

    from lpsflow.dispatch.workers import _alive

    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    env = {**os.environ, "LPSFLOW_DISABLE": disable}
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env
    )
    worker = int(proc.stdout.readline())
    assert _alive(worker)
    time.sleep(1.5)  # a worker that mistook the fork server for its parent is gone
    assert _alive(worker)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 20
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(worker)
