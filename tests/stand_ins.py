"""Stand-in jobs for tests that need a finished upstream calculation."""

from __future__ import annotations

from jobflow import job

from lpsflow.jobs.identity import kind


@job
@kind("test_stand_in_relax")
def stand_in_relax(structure, energy):
    """A finished bulk relaxation (the starting cell, energy given)."""
    return {
        "structure": structure,
        "output": {"energy": energy},
        "forcefield_name": "CHGNet",
        "is_force_converged": True,
    }
