"""Ready jobs start by the expected cost of the work downstream of them."""

from __future__ import annotations

import pytest
from jobflow import Flow, job

from lpsflow.dispatch.schedule import JOB_COST, heights, job_cost


@job
def square(x: float) -> float:
    """x^2."""
    return x * x


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("relax interface hetero Al2S3 n=2", "relax interface"),
        ("relax substrate hetero Al2S3", "relax substrate"),
        ("relax gb core SiS2", "relax gb"),
        ("neb gb Ga2S3", "neb gb"),
        ("neb bulk Ga2S3", "neb"),
        ("relax core Al2S3 Li-site #0", "relax"),
        ("relax Li3PS4", "relax"),
        ("screen interface hetero Al2S3 n=1", "screen"),
    ],
)
def test_job_cost_by_the_kind_of_cell(name, key):
    assert job_cost(name) == JOB_COST[key]


def test_analysis_jobs_are_nearly_free():
    assert job_cost("binding hetero Al2S3") == job_cost("reaction core") == 0.01
    assert job_cost("") == 0.01


def named(name: str, parent):
    j = square(parent)
    j.name = name
    return j


def test_the_longest_chain_starts_first():
    root = named("relax Li3PS4", 2.0)
    screen = named("screen interface hetero Al2S3 n=1", root.output)
    interface = named("relax interface hetero Al2S3 n=1", screen.output)
    binding = named("binding hetero Al2S3", interface.output)
    gb = named("relax gb core Al2S3", root.output)
    neb = named("neb gb Al2S3", gb.output)
    core = named("relax core Al2S3 Li-site #0", root.output)
    flow = Flow([root, screen, interface, binding, gb, neb, core])
    h = heights(flow.iterflow())
    # the cheap screen opens the most expensive chain: it goes before GB and core
    assert h[screen.uuid] > h[gb.uuid] > h[neb.uuid] > h[core.uuid]
    assert h[interface.uuid] > h[binding.uuid]
    assert h[root.uuid] == pytest.approx(job_cost(root.name) + h[screen.uuid])
    assert h[binding.uuid] == pytest.approx(0.01)


def test_parents_outside_the_jobs_are_ignored():
    root = named("relax Li3PS4", 2.0)
    child = named("relax core Al2S3 Li-site #0", root.output)
    h = heights([(child, [root.uuid])])  # root already done: not in the list
    assert h == {child.uuid: pytest.approx(1.0)}
