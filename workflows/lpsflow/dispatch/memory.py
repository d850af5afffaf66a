"""Peak memory of a process, and of each job it runs.

A job's peak is what a batch system's memory request must cover. Linux keeps one
high-water mark of resident memory per process; writing ``5`` to
``/proc/self/clear_refs`` resets it (Linux >= 4.0), so a worker that runs many jobs
can measure each. The process's own peak over its life (what
:func:`peak_rss_mb` reports) is kept across those resets.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

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
