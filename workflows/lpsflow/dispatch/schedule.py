"""Which ready job starts first: the one with the most expensive work downstream.

A campaign's cost sits in a few long chains (doped core -> interface screen -> the
interface relaxations of 1000-3000 atoms; GB -> NEB). Starting those first and
filling the workers with the short jobs at the end keeps every worker busy to the
finish (list scheduling by critical-path height). The local runner orders its ready
jobs by :func:`heights`; a FireWorks submission writes them as each firework's
``_priority``, so ``rlaunch``/``qlaunch`` workers on a cluster pull them the same way.

The costs are rough, relative to a bulk or doped-cell relaxation, by the kind of
cell a job works on (its name's first two words, else its first). Measured
(``benchmarks/schedule.py``, CPU seconds of the study-size campaign): interface
relaxations 1000-1400 s, their substrate 450 s, GB relaxations 140-160 s, GB NEBs
220 s, strained films 25-130 s, doped cells 2-20 s, screens 1-20 s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobflow import Job

#: Expected cost of a job relative to a bulk relaxation, by the first two words of
#: its name, else by its first word (anything else: analysis, nearly free).
JOB_COST = {
    "relax interface": 20.0,
    "relax substrate": 6.0,
    "relax gb": 5.0,
    "relax film": 2.0,
    "neb gb": 8.0,
    "neb hops": 0.01,  # VASP NEB: picks the hops
    "neb images": 0.01,  # VASP NEB: interpolates the images
    "neb": 6.0,
    "relax": 1.0,
    "screen": 0.3,
    "static": 0.3,
}


def job_cost(name: str) -> float:
    """Expected cost of a job named ``name`` (:data:`JOB_COST`)."""
    words = name.split(" ", 2)
    two = " ".join(words[:2])
    return JOB_COST[two] if two in JOB_COST else JOB_COST.get(words[0], 0.01)


def heights(
    todo: Iterable[tuple[Job, Iterable[str]]],
    cost: Callable[[Job], float] | None = None,
) -> dict[str, float]:
    """Expected cost of the most expensive downstream chain of each job (itself in).

    ``todo``: (job, uuids of its parents) in dependency order, as
    ``Flow.iterflow`` gives them; parents outside ``todo`` are ignored. ``cost``:
    a job's own cost (default: :func:`job_cost` of its name).
    """
    cost = cost or (lambda job: job_cost(job.name))
    todo = list(todo)
    children: dict[str, list[str]] = {job.uuid: [] for job, _ in todo}
    for job, parents in todo:
        for p in parents:
            if p in children:
                children[p].append(job.uuid)
    height: dict[str, float] = {}
    for job, _ in reversed(todo):
        height[job.uuid] = cost(job) + max(
            (height[c] for c in children[job.uuid]), default=0.0
        )
    return height
