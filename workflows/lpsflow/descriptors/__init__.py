"""The registry of descriptors: one package folder each, in table and report order.

Each folder's ``DESCRIPTOR`` (:class:`~lpsflow.descriptors.base.Descriptor`) owns
its columns of the results table with the job ids behind them, its ranking
criteria, its text in ``lpsflow results`` and its report section. Adding one:
write its folder and list it here.
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
)
from lpsflow.descriptors.base import Criterion, Descriptor

DESCRIPTORS: tuple[Descriptor, ...] = (
    reactions.DESCRIPTOR,
    solubility.DESCRIPTOR,
    phase_model.DESCRIPTOR,
    binding.DESCRIPTOR,
    mu_li.DESCRIPTOR,
    grain_boundaries.DESCRIPTOR,
    migration.DESCRIPTOR,
)


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
