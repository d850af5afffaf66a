"""A line now and then while a long job runs: its time, force calls and max force.

A study-size interface relaxation runs 20-30 minutes (2000 atoms, 400 steps)
without a word from the optimiser. The runner names the job it runs
(:func:`running`); every MLIP evaluation then ticks (:func:`tick`), and once the job
has run :data:`EVERY_S` seconds since its start or its last line, one line goes to
stderr, where ``lpsflow run`` prints its progress (worker processes share it)::

    ... relax interface hetero SiS2 n=2: 10.0 min, 212 force calls, max force 0.043 eV/A

``LPSFLOW_PROGRESS_S`` sets the interval (seconds; 0 switches the lines off).

While it runs, the job's directory holds :data:`PROGRESS_FILE` (written at the
start, then every :data:`FILE_EVERY_S` seconds and with every line; removed at the
end), from which ``lpsflow status`` lists the jobs running now, or killed while
running (:func:`running_jobs`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lpsflow.dispatch.processes import pid_alive

#: Environment variable with the interval between lines (seconds; 0: none).
PROGRESS_ENV = "LPSFLOW_PROGRESS_S"

#: Default interval between two lines of one job (seconds).
EVERY_S = 300.0

#: Seconds between two updates of a running job's :data:`PROGRESS_FILE`.
FILE_EVERY_S = 20.0

#: File in a running job's directory: what it is, where it runs, how far it got.
PROGRESS_FILE = "lpsflow-progress.json"


@dataclass
class JobProgress:
    """The job this process runs now and when it last said so."""

    name: str = ""
    uuid: str = ""
    started: float = 0.0
    started_at: str = ""
    last: float = 0.0
    written: float = 0.0
    calls: int = 0
    every_s: float = EVERY_S
    file: Path | None = None


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
def running(
    name: str, uuid: str = "", job_dir: str | Path | None = None
) -> Iterator[JobProgress]:
    """Around one job: its evaluations tick under ``name``.

    With ``job_dir``, :data:`PROGRESS_FILE` there says the job runs until it ends.
    """
    p, now = PROGRESS, time.perf_counter()
    p.name, p.uuid, p.started, p.last, p.written = name, uuid, now, now, now
    p.calls, p.every_s = 0, interval()
    p.started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    p.file = Path(job_dir) / PROGRESS_FILE if job_dir is not None else None
    _write()
    try:
        yield p
    finally:
        p.name = ""
        if p.file is not None:
            with contextlib.suppress(OSError):
                p.file.unlink(missing_ok=True)
        p.file = None


def _write(max_force: float | None = None) -> None:
    """Record the running job in its :data:`PROGRESS_FILE` (never fails the job)."""
    p = PROGRESS
    if p.file is None:
        return
    p.written = time.perf_counter()
    data = {
        "uuid": p.uuid,
        "name": p.name,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": p.started_at,
        "seconds": round(time.perf_counter() - p.started, 1),
        "force_calls": p.calls,
        "max_force": max_force,
    }
    tmp = p.file.with_name(p.file.name + ".tmp")
    with contextlib.suppress(OSError):
        tmp.write_text(json.dumps(data))
        tmp.replace(p.file)


def running_jobs(workdir: str | Path, uuids: Iterable[str]) -> list[dict]:
    """What the :data:`PROGRESS_FILE` files under ``workdir`` say of ``uuids``.

    One dict per job that has one (the fields :func:`running` writes), with
    ``alive``: whether its process is still there where it runs on this host (a
    run killed with ``kill -9`` or with its machine leaves the file behind), None
    where it runs on another host.
    """
    wanted, host, out = set(uuids), socket.gethostname(), []
    for path in sorted(Path(workdir).glob(f"*/{PROGRESS_FILE}")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or data.get("uuid") not in wanted:
            continue
        same_host = data.get("host") == host
        data["alive"] = pid_alive(int(data.get("pid") or 0)) if same_host else None
        out.append(data)
    return out


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
    if not p.name:
        return
    now = time.perf_counter()
    line_due = bool(p.every_s) and now - p.last >= p.every_s
    if not line_due and (p.file is None or now - p.written < FILE_EVERY_S):
        return
    force = max_force(calc) if p.name.startswith("relax") else None
    if line_due:
        p.last = now
        line = f"... {p.name}: {(now - p.started) / 60:.1f} min, {p.calls} force calls"
        if force is not None:
            line += f", max force {force:.3f} eV/A"
        print(line, file=sys.stderr, flush=True)
    _write(force)
