"""Idle cores lent to the jobs that still run.

A parallel run gives each worker process ``cores // workers`` torch threads. When
fewer jobs run than there are workers (a campaign's last large relaxations, or jobs
waiting on inputs), cores sit idle while one relaxation runs on one of them. The
parent then publishes a larger share in a shared integer (:func:`share_for`); a
worker's MLIP calculator reads it before each evaluation (:func:`follow`) and resizes
torch's thread pool when it changed, so a job takes the idle cores from its next
force call on, and gives them back when new jobs start.

The results do not change: CHGNet's energies, forces and stresses came out bit for
bit the same on 1, 2 and 4 threads (84-2814 atoms; ``tests/test_thread_share.py``
checks a small cell).
"""

from __future__ import annotations

from typing import Any

_share: Any = None
"""The parent's shared integer (``multiprocessing.RawValue``), in a worker."""
_threads = 0
"""Torch threads this process runs now (0: not set here yet)."""


def share_for(cores: int, workers: int, running: int, others: int = 0) -> int:
    """Torch threads for each of ``running`` jobs on ``cores`` (``workers`` at most).

    ``others``: jobs that other runners compute on the same cores meanwhile.
    """
    return max(1, cores // max(1, min(running, workers) + others))


def attach(share: Any, threads: int) -> None:
    """Follow the parent's ``share`` in this (worker) process, ``threads`` now."""
    global _share, _threads
    _share, _threads = share, threads


def follow() -> None:
    """Resize torch's thread pool to the parent's current share, if it changed."""
    global _threads
    if _share is None:
        return
    wanted = _share.value
    if wanted == _threads or wanted < 1:
        return
    use_threads(wanted, grew=wanted > _threads)
    _threads = wanted


def use_threads(threads: int, grew: bool = True) -> None:
    """Run torch on ``threads`` threads in this process from now on."""
    import torch

    torch.set_num_threads(threads)
    if grew:
        from lpsflow.calculators.chgnet_fast import start_flushing_threads
        from lpsflow.speedups import enabled

        if enabled("flush_denormals"):
            start_flushing_threads()  # new pool threads flush subnormals too
