"""Idle cores lent to running jobs (lpsflow.calculators.thread_share)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from jobflow import Flow, job
from pymatgen.io.ase import AseAtomsAdaptor

from lpsflow.calculators import thread_share
from lpsflow.calculators.mlip import new_calculator
from lpsflow.dispatch.local import run_flow
from lpsflow.dispatch.processes import cpu_count
from lpsflow.speedups import DISABLE_ENV
from lpsflow.store import embedded_stores
from lpsflow.structures.library import load_structure


def test_share_arithmetic():
    assert thread_share.share_for(cores=2, workers=2, running=1) == 2
    assert thread_share.share_for(cores=2, workers=2, running=2) == 1
    assert thread_share.share_for(cores=2, workers=2, running=3) == 1  # one queued
    assert thread_share.share_for(cores=16, workers=4, running=3) == 5
    assert thread_share.share_for(cores=16, workers=4, running=0) == 16
    assert thread_share.share_for(cores=3, workers=4, running=4) == 1
    # beside jobs of another runner on the same cores
    assert thread_share.share_for(cores=2, workers=2, running=1, others=1) == 1
    assert thread_share.share_for(cores=16, workers=4, running=2, others=2) == 4
    assert thread_share.share_for(cores=2, workers=2, running=2, others=2) == 1


def test_chgnet_numbers_do_not_depend_on_the_thread_count():
    """What makes lending cores safe: the same bits on 1 and 2 threads."""
    structure = load_structure("Li3PS4") * (2, 1, 1)
    calc = new_calculator("CHGNet")
    before = torch.get_num_threads()
    out = {}
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            atoms = AseAtomsAdaptor.get_atoms(structure)
            atoms.positions[0] += 0.05
            atoms.calc = calc
            out[n] = (atoms.get_forces(), atoms.get_potential_energy(),
                      atoms.get_stress())  # fmt: skip
    finally:
        torch.set_num_threads(before)
    for a, b in zip(out[1], out[2], strict=True):
        assert np.array_equal(a, b)


def test_follow_resizes_torch_threads():
    share = multiprocessing.RawValue("i", 1)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    thread_share.attach(share, 1)
    try:
        thread_share.follow()
        assert torch.get_num_threads() == 1
        share.value = 3
        thread_share.follow()
        assert torch.get_num_threads() == 3
        share.value = 1
        thread_share.follow()
        assert torch.get_num_threads() == 1
    finally:
        thread_share.attach(None, 0)
        torch.set_num_threads(before)
    thread_share.follow()  # not attached: nothing happens
    assert torch.get_num_threads() == before


LENT_THREAD_FLUSHES = """
import multiprocessing, torch
torch.set_num_threads(1)
from lpsflow.calculators import thread_share
from lpsflow.calculators.mlip import mlip_calculator
mlip_calculator("CHGNet")  # one thread: no pool started at load
share = multiprocessing.RawValue("i", 2)
thread_share.attach(share, 1)
thread_share.follow()  # the pool grows to 2 threads
x = torch.full((1 << 22,), 1e-39) * 1.0001  # split over both threads
print(torch.get_num_threads(), int((x == 0).sum()), int((x != 0).sum()))
"""


def test_lent_threads_flush_subnormals_too():
    env = {**os.environ, DISABLE_ENV: "", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", LENT_THREAD_FLUSHES],
        env=env, check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    threads, zeros, kept = (int(v) for v in out[-3:])
    assert threads == 2
    assert zeros > 0 and kept > 0  # the new thread flushed its half


@job
def threads_when_alone(wait_s: float) -> int:
    """Torch threads a lone job gets (waits for the parent to lend them)."""
    import torch

    from lpsflow.calculators import thread_share

    end = time.monotonic() + wait_s
    while True:
        thread_share.follow()
        if torch.get_num_threads() > 1 or time.monotonic() > end:
            return torch.get_num_threads()
        time.sleep(0.05)


@pytest.mark.skipif(cpu_count() < 2, reason="needs 2 cores")
@pytest.mark.parametrize("disable", ["", "lend_cores"])
def test_a_lone_job_gets_the_idle_cores(tmp_path, monkeypatch, disable):
    monkeypatch.setenv(DISABLE_ENV, disable)
    short = threads_when_alone(0.0)  # two jobs: a parallel run
    lone = threads_when_alone(10.0 if not disable else 1.0)
    stores = embedded_stores(tmp_path / "s").connect()
    report = run_flow(Flow([short, lone]), stores, tmp_path / "w", None,
                      lambda _: None, workers=2)  # fmt: skip
    assert set(report.completed) == {short.uuid, lone.uuid}
    threads = stores.jobs.get_output(lone.uuid)
    assert threads == (1 if disable else cpu_count())
