"""The registry of descriptors: one package folder each, in table and report order.

Each folder's ``DESCRIPTOR`` (:class:`~lpsflow.descriptors.base.Descriptor`) owns
its jobs (``jobs.py``, the flow Makers of ``flow.py``, the result documents of
``schema.py`` and the campaign wiring of ``build.py``), its columns of the results
table with the job ids behind them (``read.py``), its ranking criteria, its text in
``lpsflow results`` and its report section (``show.py``). Adding one: write its
folder, list it here, and give its settings a section of the campaign file.
"""

from __future__ import annotations

from lpsflow.descriptors import (
    binding,
    grain_boundaries,
    migration,
    mu_li,
    phase_model,
    reactions,
    solubility,
    solution_energy,
    surfaces,
)
from lpsflow.descriptors.base import Criterion, Descriptor
from lpsflow.sampling import show as sampling

DESCRIPTORS: tuple[Descriptor, ...] = (
    reactions.DESCRIPTOR,
    solution_energy.DESCRIPTOR,
    solubility.DESCRIPTOR,
    phase_model.DESCRIPTOR,
    surfaces.DESCRIPTOR,
    binding.DESCRIPTOR,
    mu_li.DESCRIPTOR,
    grain_boundaries.DESCRIPTOR,
    migration.DESCRIPTOR,
    sampling.DESCRIPTOR,  # the rounds of adaptive sampling (no jobs of its own)
)


def build_order() -> list[Descriptor]:
    """The descriptors in the order their jobs are built.

    Registry order, each after those it
    :attr:`~lpsflow.descriptors.base.Descriptor.needs`.
    """
    by_name = {d.name: d for d in DESCRIPTORS}
    order: list[Descriptor] = []

    def visit(d: Descriptor, path: tuple[str, ...]) -> None:
        if d in order:
            return
        if d.name in path:
            raise ValueError(f"descriptors need each other: {' -> '.join(path)}")
        for name in d.needs:
            visit(by_name[name], (*path, d.name))
        order.append(d)

    for d in DESCRIPTORS:
        visit(d, ())
    return order


def criteria() -> tuple[Criterion, ...]:
    """Every ranking criterion, in registry order."""
    return tuple(c for d in DESCRIPTORS for c in d.criteria)


def jobs_of(column: str) -> tuple[str, ...]:
    """The job-id columns behind a descriptor column (default ``job_<column>``)."""
    for d in DESCRIPTORS:
        if column in d.jobs:
            return d.jobs[column]
    return (f"job_{column}",)


def descriptor_of(column: str) -> Descriptor | None:
    """The descriptor a results column belongs to (None: identity or unknown)."""
    return next((d for d in DESCRIPTORS if column in d.jobs), None)
