"""How many worker processes a local run uses, and how they start.

A worker needs torch, CHGNet, atomate2 and the job modules: about 4.5 s of imports
on one core, which every new Python process pays before its first job. On Linux
the workers are instead forked from a server process that imported
them once (multiprocessing's ``forkserver``, its ``preload`` list). The command line
starts that server (:func:`start_server`) as soon as it knows it will use workers,
so that it imports while the command itself imports, checks the campaign and builds
the flow; forked workers start their first job at once. The server imports only:
no model is loaded and no torch operation runs there, so forking it is safe.

This module imports nothing heavy, so that the server starts before the rest does.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from typing import TYPE_CHECKING

from lpsflow.speedups import enabled

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

    from lpsflow.campaign import CalculatorSettings

#: Most worker processes ``auto`` starts (one loaded model, ~0.6 GB, each).
MAX_AUTO_WORKERS = 4
#: The same on a GPU, which they share (each also holds a CUDA context).
MAX_AUTO_WORKERS_GPU = 8

#: Modules the fork server imports for its workers (a missing one is skipped).
WORKER_MODULES = (
    "torch",
    "chgnet.model",
    "lpsflow.dispatch.workers",
    "lpsflow.dispatch.capture_store",
    "lpsflow.calculators.mlip",
    "lpsflow.calculators.chgnet_fast",
    "lpsflow.jobs.screening",
    "lpsflow.descriptors.reactions.jobs",
    "lpsflow.descriptors.solubility.jobs",
    "lpsflow.descriptors.binding.jobs",
    "lpsflow.descriptors.grain_boundaries.jobs",
    "lpsflow.descriptors.mu_li.jobs",
    "lpsflow.descriptors.migration.neb",
    "lpsflow.descriptors.migration.jobs",
)


def cpu_count() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def auto_workers(settings: CalculatorSettings) -> int:
    """Worker processes for a local run when the user does not say.

    For the MLIP one per core, at most :data:`MAX_AUTO_WORKERS` on a CPU and
    :data:`MAX_AUTO_WORKERS_GPU` on a GPU: the GPU idles while a job does its
    CPU-side work (graphs, optimiser steps, task documents), so workers sharing
    it overlap; on one H100 with 16 cores the one-accelerant quick campaign took
    70.5 s with one worker, 36.5 s with 4 and 28.9 s with 8
    (``benchmarks/device_campaign.sh``). One for VASP (which brings its own MPI
    parallelism), and one when the ``parallel_jobs`` speed-up is switched off
    (``LPSFLOW_DISABLE``).
    """
    if settings.backend != "mlip" or not enabled("parallel_jobs"):
        return 1
    cap = MAX_AUTO_WORKERS if settings.device == "cpu" else MAX_AUTO_WORKERS_GPU
    return max(1, min(cpu_count(), cap))


def uses_fork_server() -> bool:
    """Whether workers are forked from the server (else each is a new Python).

    Linux only: on macOS forking a process that loaded Apple's frameworks (numpy's
    Accelerate) is unsafe, which is why Python spawns there by default.
    """
    return (
        sys.platform.startswith("linux")
        and "forkserver" in multiprocessing.get_all_start_methods()
        and enabled("fork_server")
    )


def context() -> BaseContext:
    """The multiprocessing context worker pools start their processes with.

    Never plain ``fork``: the parent may hold torch's thread pools and open stores.
    """
    if uses_fork_server():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(list(WORKER_MODULES))
        return ctx
    return multiprocessing.get_context("spawn")


def start_server() -> None:
    """Start the fork server now (if workers are forked); it imports in the background.

    Cheap to call again: a running server is kept. Harmless if no worker is ever
    started (the server ends with this process).
    """
    if uses_fork_server():
        from multiprocessing import forkserver

        context()  # its preload list
        forkserver.ensure_running()


def wait_for_server() -> None:
    """Return once the fork server has imported its modules (at once without one)."""
    if uses_fork_server():
        start_server()
        p = context().Process(target=os.getpid)  # forked after the imports
        p.start()
        p.join()


def process_start(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), None if unknown.

    Tells a process from a later one that got the same id.
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[-1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def pid_alive(pid: int, start: int | None = None) -> bool:
    """Whether process ``pid`` of this host runs (and started at ``start``)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    now = process_start(pid)
    return start is None or now is None or now == start
