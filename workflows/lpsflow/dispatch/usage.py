"""What a job used: time, CPU, MLIP force calls and peak memory (:func:`run_stats`).

A job's peak memory is what a batch system's memory request must cover. Linux keeps one
high-water mark of resident memory per process; writing ``5`` to
``/proc/self/clear_refs`` resets it (Linux >= 4.0), so a worker that runs many jobs
can measure each. The process's own peak over its life (what
:func:`peak_rss_mb` reports) is kept across those resets.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")

#: Largest peak (MB) of this process before its high-water mark was last reset.
_before_reset = 0.0


def _rusage_peak_mb() -> float:
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)  # kB on Linux


def _high_water_mb() -> float | None:
    """The kernel's high-water mark of resident memory (VmHWM), MB; None unknown."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_rss_mb() -> float:
    """Peak resident memory (MB) of this process over its life (0 where unknown)."""
    return max(_before_reset, _rusage_peak_mb(), _high_water_mb() or 0.0)


def per_job() -> bool:
    """Whether this system can measure each job's peak (:func:`start_job`)."""
    return _high_water_mb() is not None and os.access(_CLEAR_REFS, os.W_OK)


def start_job() -> bool:
    """Start measuring a job's peak: reset the high-water mark (False: cannot)."""
    global _before_reset
    if _high_water_mb() is None:
        return False
    _before_reset = peak_rss_mb()
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def job_peak_mb(started: bool) -> float | None:
    """Peak resident memory (MB) since :func:`start_job` (None if it could not reset).

    It includes what the process held before the job (the model, the imports):
    the memory the job's process needs.
    """
    return _high_water_mb() if started else None


def cpu_seconds() -> float:
    """CPU time of this process and of the programs it ran and waited for (VASP)."""
    seconds = time.process_time()
    try:
        import resource
    except ImportError:  # Windows
        return seconds
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds + children.ru_utime + children.ru_stime


def run_stats(
    wall_s: float,
    cpu_s: float,
    calls: int,
    calculator_s: float,
    peak_mb: float | None = None,
) -> dict:
    """What a job cost, as stored under :data:`lpsflow.status.RUN_STATS_KEY`.

    ``peak_mb``: the peak resident memory of the job's process while it ran (MB;
    left out where unknown). ``host`` and ``pid`` name the runner that computed it
    (a local run's own process, also where its workers ran the job).
    """
    stats = {
        "wall_s": wall_s,
        "cpu_s": cpu_s,
        "force_calls": calls,
        "calculator_s": calculator_s,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if peak_mb is not None:
        stats["peak_mb"] = round(peak_mb, 1)
    return stats


class JobMeter:
    """Measures one job from its creation to :meth:`stats`."""

    def __init__(self) -> None:
        from lpsflow.calculators.mlip import STATS

        self._calc = STATS
        self._measuring = start_job()
        self._t0, self._cpu0 = time.perf_counter(), cpu_seconds()
        self._calls0, self._seconds0 = STATS.calls, STATS.seconds

    def stats(self) -> dict:
        """:func:`run_stats` of the job so far."""
        return run_stats(
            time.perf_counter() - self._t0,
            cpu_seconds() - self._cpu0,
            self._calc.calls - self._calls0,
            self._calc.seconds - self._seconds0,
            job_peak_mb(self._measuring),
        )


def record_stats(docs_store: Any, uuid: str, stats: dict) -> None:
    """Add ``stats`` to the stored documents of job ``uuid`` (a JobStore's docs)."""
    from lpsflow.status import RUN_STATS_KEY

    docs = list(docs_store.query({"uuid": uuid}))
    for doc in docs:
        doc.pop("_id", None)
        doc[RUN_STATS_KEY] = stats
    if docs:
        docs_store.update(docs, key=["uuid", "index"])
