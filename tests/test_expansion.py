"""Expanding jobs: a job whose stored output decides what is added, run locally
(serial and parallel), resumed after a kill from the stored decisions only; and a
calculation reached another way is copied, not computed again."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

import pytest
from jobflow import Flow, Maker, Response, job

from lpsflow.dispatch.expansion import expands
from lpsflow.dispatch.local import run_flow
from lpsflow.jobs.identity import Kind, kind, stamp
from lpsflow.store import embedded_stores


@job
@kind("test_square")
def square(x: float) -> float:
    """x^2."""
    return x * x


def _next(decision: dict) -> Flow | None:
    """One more square and one more count, until ``upto``."""
    n, upto = decision["n"] + 1, decision["upto"]
    if n > upto:
        return None
    return Flow([stamp(square(float(n))), stamp(count(n, upto))])


@job
@kind("test_count")
@expands(_next)
def count(n: int, upto: int) -> dict:
    """The decision: where the count is."""
    return {"n": n, "upto": upto}


@job
@kind("test_replace")
def replaces(n: int) -> Response:
    """Dynamic work the local runner cannot resume: refused."""
    return Response(output=n, replace=Flow([square(1.0)]))


def _run(tmp_path, workers: int = 1, upto: int = 3, name: str = "s"):
    stores = embedded_stores(tmp_path / name)
    stores.connect()
    first = stamp(count(0, upto))
    lines: list[str] = []
    report = run_flow(
        Flow([first]), stores, tmp_path / "work", echo=lines.append, workers=workers
    )
    return stores, report, lines


def _squares(stores) -> dict[float, float]:
    docs = stores.jobs.query({"name": "square"}, ["output"])
    return {d["output"] ** 0.5: d["output"] for d in docs}


@pytest.mark.parametrize("workers", [1, 2])
def test_an_expanding_job_adds_the_jobs_its_decision_asks_for(tmp_path, workers):
    stores, report, lines = _run(tmp_path, workers)
    assert report.ok and report.total == 7  # count 0..3, square 1..3
    assert len(report.completed) == 7
    assert _squares(stores) == {1.0: 1.0, 2.0: 4.0, 3.0: 9.0}
    assert any(
        "count: adds 2 jobs (0 of them in the store already)" in x for x in lines
    )
    assert stores.jobs.query_one({"name": "count"}, sort={"output.n": -1})[
        "output"
    ] == {"n": 3, "upto": 3}


def test_the_same_decisions_on_one_and_two_workers(tmp_path):
    one, _, _ = _run(tmp_path, 1, name="one")
    two, _, _ = _run(tmp_path, 2, name="two")
    uuids = [{d["uuid"] for d in s.jobs.query({}, ["uuid"])} for s in (one, two)]
    assert uuids[0] == uuids[1] and len(uuids[0]) == 7


def test_a_killed_run_resumes_from_the_stored_decisions(tmp_path):
    """Only count 0 and 1 stored (killed after count 1's decision): the rerun adds
    square 2, count 2 (from count 1's stored decision) and on, computing only
    those; a third run computes nothing."""
    stores, _, _ = _run(tmp_path)
    kept = {
        d["uuid"]
        for d in stores.jobs.query({}, ["uuid", "name", "output"])
        if (d["name"] == "count" and d["output"]["n"] <= 1)
        or (d["name"] == "square" and d["output"] == 1.0)
    }
    stores.jobs.docs_store.remove_docs({"uuid": {"$nin": list(kept)}})
    assert len(kept) == 3
    _, report, lines = _run(tmp_path)
    assert "4 jobs added by the stored decisions of expanding jobs" in lines
    assert report.ok and report.total == 7 and report.reused == 3
    assert len(report.completed) == 4  # square 2, count 2, square 3, count 3
    assert _squares(stores) == {1.0: 1.0, 2.0: 4.0, 3.0: 9.0}
    _, again, _ = _run(tmp_path)
    assert again.completed == [] and again.reused == 7


def test_a_job_that_replaces_itself_is_refused_with_a_clear_reason(tmp_path):
    stores = embedded_stores(tmp_path / "s")
    stores.connect()
    lines: list[str] = []
    report = run_flow(
        Flow([stamp(replaces(1))]), stores, tmp_path / "work", echo=lines.append
    )
    assert len(report.failed) == 1
    assert "only as expanding jobs" in next(iter(report.failed.values()))


@job
@kind("test_pick")
def pick(n: int) -> dict:
    """A screening: the lowest ``n`` of five values, lowest first."""
    return {"selected": sorted([5.0, 3.0, 4.0, 1.0, 2.0])[:n]}


@dataclass
class _CubeMaker(Maker):
    """A calculation (a Maker's job): x^3, counted."""

    name: str = "cube"
    power: int = 3
    lpsflow_kind: ClassVar[Kind] = Kind("test_cube")

    @job
    def make(self, x: float) -> float:
        """x^power; every computation counted in a file beside the store."""
        with open(os.environ["LPSFLOW_TEST_COUNT"], "a") as f:
            f.write(f"{x}\n")
        return x**self.power


def _cubes(top: int) -> Flow:
    p = stamp(pick(top))
    salt = {"calculator": "test"}  # a calculation: keyed with the calculator's salt
    cubes = [
        stamp(_CubeMaker().make(p.output["selected"][i]), salt=salt) for i in range(top)
    ]
    return Flow([p, *cubes])


@pytest.mark.parametrize("workers", [1, 2])
def test_a_calculation_reached_another_way_is_copied_not_computed(
    tmp_path, monkeypatch, workers
):
    """The lowest two values cubed, then the lowest three: the second screening
    is another job (another id), and so are its cubes; the first two are the same
    calculations (the same resolved inputs) and are copied, one is computed."""
    counted = tmp_path / "count.txt"
    monkeypatch.setenv("LPSFLOW_TEST_COUNT", str(counted))
    stores = embedded_stores(tmp_path / "s")
    stores.connect()
    first = run_flow(_cubes(2), stores, tmp_path / "w", echo=print, workers=workers)
    lines: list[str] = []
    second = run_flow(
        _cubes(3), stores, tmp_path / "w", echo=lines.append, workers=workers
    )
    assert counted.read_text().split() == ["1.0", "2.0", "3.0"]
    assert len(first.completed) == 3 and len(second.same) == 2
    assert len(second.completed) == 2  # the screening and the third cube
    assert sum("the same calculation as cube" in x for x in lines) == 2
    outputs = {
        d["uuid"]: d["output"] for d in stores.jobs.query({}, ["uuid", "output"])
    }
    for uuid, source in second.same.items():
        assert outputs[uuid] == outputs[source]
        doc = stores.jobs.query_one({"uuid": uuid}, ["metadata"])
        assert doc["metadata"]["lpsflow_same_as"] == source
