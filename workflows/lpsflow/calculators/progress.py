"""A line now and then while a long job runs: its time, force calls and max force.

A study-size interface relaxation runs 20-30 minutes (2000 atoms, 400 steps)
without a word from the optimiser. The runner names the job it runs
(:func:`running`); every MLIP evaluation then ticks (:func:`tick`), and once the job
has run :data:`EVERY_S` seconds since its start or its last line, one line goes to
stderr, where ``lpsflow run`` prints its progress (worker processes share it)::

    ... relax interface hetero SiS2 n=2: 10.0 min, 212 force calls, max force 0.043 eV/A

``LPSFLOW_PROGRESS_S`` sets the interval (seconds; 0 switches the lines off).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

#: Environment variable with the interval between lines (seconds; 0: none).
PROGRESS_ENV = "LPSFLOW_PROGRESS_S"

#: Default interval between two lines of one job (seconds).
EVERY_S = 300.0


@dataclass
class JobProgress:
    """The job this process runs now and when it last said so."""

    name: str = ""
    started: float = 0.0
    last: float = 0.0
    calls: int = 0
    every_s: float = EVERY_S


#: This process's running job (set by :func:`running`).
PROGRESS = JobProgress()


def interval() -> float:
    """Seconds between lines (:data:`PROGRESS_ENV`, else :data:`EVERY_S`)."""
    value = os.environ.get(PROGRESS_ENV, "")
    try:
        return max(0.0, float(value)) if value else EVERY_S
    except ValueError:
        return EVERY_S


@contextmanager
def running(name: str) -> Iterator[JobProgress]:
    """Around one job: its evaluations tick under ``name``."""
    now = time.perf_counter()
    PROGRESS.name, PROGRESS.started, PROGRESS.last = name, now, now
    PROGRESS.calls, PROGRESS.every_s = 0, interval()
    try:
        yield PROGRESS
    finally:
        PROGRESS.name = ""


def max_force(calc) -> float | None:
    """Largest atomic force (eV/A) of the calculator's last result, constraints on."""
    forces = getattr(calc, "results", {}).get("forces")
    atoms = getattr(calc, "atoms", None)
    if forces is None or atoms is None:
        return None
    forces = np.array(forces, dtype=float)
    for constraint in atoms.constraints:
        constraint.adjust_forces(atoms, forces)
    return float(np.sqrt((forces**2).sum(axis=1)).max()) if len(forces) else None


def tick(calc, structures: int = 1) -> None:
    """Count an evaluation; print a line if the job's interval has passed."""
    p = PROGRESS
    p.calls += structures
    if not p.name or not p.every_s:
        return
    now = time.perf_counter()
    if now - p.last < p.every_s:
        return
    p.last = now
    line = f"... {p.name}: {(now - p.started) / 60:.1f} min, {p.calls} force calls"
    if p.name.startswith("relax") and (f := max_force(calc)) is not None:
        line += f", max force {f:.3f} eV/A"
    print(line, file=sys.stderr, flush=True)
