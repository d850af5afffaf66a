"""A line now and then while a long job runs (time, force calls, max force)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.constraints import FixAtoms
from jobflow import Flow, job

from lpsflow.calculators import get_backend, progress
from lpsflow.campaign import CalculatorSettings
from lpsflow.dispatch.local import run_flow
from lpsflow.store import embedded_stores
from lpsflow.structures.library import load_structure


def evaluated(forces, fixed=()):
    atoms = Atoms("Li3", positions=np.eye(3) * 2.0, cell=np.eye(3) * 6, pbc=True)
    atoms.set_constraint(FixAtoms(indices=list(fixed)))
    calc = SinglePointCalculator(atoms, energy=0.0, forces=np.array(forces, float))
    calc.atoms = atoms
    return calc


def test_a_line_once_the_interval_has_passed(monkeypatch, capsys):
    monkeypatch.setenv(progress.PROGRESS_ENV, "1e-9")
    calc = evaluated([[30.0, 0, 0], [0, 0.3, 0.4], [0, 0, 0.1]], fixed=[0])
    with progress.running("relax interface hetero Al2S3 n=1"):
        progress.tick(calc)
        progress.tick(calc)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    # the fixed atom's force is not what the optimiser sees
    assert lines[1].startswith("... relax interface hetero Al2S3 n=1: ")
    assert lines[1].endswith("2 force calls, max force 0.500 eV/A")


def test_quiet_outside_jobs_before_the_interval_and_when_off(monkeypatch, capsys):
    calc = evaluated([[1.0, 0, 0]] * 3)
    progress.tick(calc)  # no job running
    monkeypatch.setenv(progress.PROGRESS_ENV, "3600")
    with progress.running("relax Li2S"):
        progress.tick(calc)
    monkeypatch.setenv(progress.PROGRESS_ENV, "0")
    with progress.running("relax Li2S"):
        progress.tick(calc)
    assert capsys.readouterr().err == ""
    assert progress.PROGRESS.name == ""


def test_the_progress_file_keeps_up_between_lines(tmp_path, monkeypatch, capsys):
    """`lpsflow status` reads the file: it follows the force calls within
    FILE_EVERY_S, also with the lines off."""
    import json

    calc = evaluated([[0, 0.3, 0.4]] * 3)
    file = tmp_path / progress.PROGRESS_FILE
    for lines in ("3600", "0"):
        monkeypatch.setenv(progress.PROGRESS_ENV, lines)
        monkeypatch.setattr(progress, "FILE_EVERY_S", 3600.0)
        with progress.running("relax Li2S", "u", tmp_path):
            progress.tick(calc)
            assert json.loads(file.read_text())["force_calls"] == 0  # not yet due
            monkeypatch.setattr(progress, "FILE_EVERY_S", 0.0)
            progress.tick(calc)
            record = json.loads(file.read_text())
            assert (record["force_calls"], record["max_force"]) == (2, 0.5)
        assert not file.exists()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("value", "expected"), [("", 300.0), ("x", 300.0), ("-1", 0)])
def test_interval_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv(progress.PROGRESS_ENV, value)
    assert progress.interval() == expected


def test_a_running_relaxation_reports_its_progress(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(progress.PROGRESS_ENV, "1e-9")  # a line per force call
    backend = get_backend(CalculatorSettings(fmax=0.05))
    start = load_structure("Li2S")  # moved off the minimum: a real relaxation, and
    start.translate_sites([0], [0.05, 0.02, 0.0], frac_coords=False)  # not cached
    job = backend.relax_maker("Li2S").make(start)
    job.name = "relax Li2S"
    stores = embedded_stores(tmp_path / "store").connect()
    report = run_flow(Flow([job]), stores, tmp_path, None, lambda _: None)
    assert report.ok
    lines = [
        line
        for line in capsys.readouterr().err.splitlines()
        if line.startswith("... relax Li2S: ")
    ]
    assert report.force_calls > 2 and len(lines) == report.force_calls
    last = re.fullmatch(
        r"\.\.\. relax Li2S: \d+\.\d min, (\d+) force calls, max force (\S+) eV/A",
        lines[-1],
    )
    assert last and int(last[1]) == report.force_calls
    assert float(last[2]) < 0.05  # the converged relaxation's last step


@job
def running_job_name() -> dict:
    """The name the process's progress lines carry and its progress file."""
    import json
    from pathlib import Path

    record = json.loads(Path(progress.PROGRESS_FILE).read_text())  # in the job dir
    return {"name": progress.PROGRESS.name, "file": record}


def test_worker_processes_name_the_job_they_run(tmp_path):
    import os

    jobs = [running_job_name() for _ in range(2)]
    for i, j in enumerate(jobs):
        j.name = f"relax cell {i}"
    stores = embedded_stores(tmp_path / "store").connect()
    report = run_flow(Flow(jobs), stores, tmp_path, None, lambda _: None, workers=2)
    assert report.ok and report.workers == 2
    for j in jobs:
        out = stores.jobs.get_output(j.uuid)
        assert out["name"] == j.name
        assert out["file"]["uuid"] == j.uuid and out["file"]["name"] == j.name
        assert out["file"]["pid"] != os.getpid()  # a worker process ran it
    assert not list(tmp_path.glob(f"*/{progress.PROGRESS_FILE}"))  # gone at the end
