"""Calculator backends behind one interface.

A flow asks a :class:`~lpsflow.calculators.base.Backend` for a relax or static
*maker* for a given phase and never knows which code runs it: ``mlip`` wraps atomate2's
forcefield makers, ``vasp`` atomate2's VASP makers with the study's settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lpsflow.calculators.base import Backend
    from lpsflow.campaign import CalculatorSettings


def get_backend(settings: CalculatorSettings) -> Backend:
    """The backend named in the calculator settings."""
    if settings.backend == "mlip":
        from lpsflow.calculators.mlip import MLIPBackend

        return MLIPBackend(settings)
    if settings.backend == "vasp":
        from lpsflow.calculators.vasp import VaspBackend

        return VaspBackend(settings)
    raise ValueError(f"unknown backend {settings.backend}")
