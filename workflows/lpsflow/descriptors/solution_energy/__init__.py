"""Solution energy of the dopant in Li3PS4, per dopant (SCIENCE.md 2)."""

from lpsflow.descriptors.base import Criterion, Descriptor, Headline, lazy
from lpsflow.descriptors.solution_energy import read, show

DESCRIPTOR = Descriptor(
    name="solution_energy",
    title="Solution energy E_sol per dopant of M in Li3PS4",
    doc="docs/solution-energy.md",
    columns=read.columns,
    jobs=read.JOBS,
    headline=(Headline("E_sol (eV/M)", "E_sol"),),
    criteria=(
        Criterion(
            key="solution",
            title="the dopant dissolves in Li3PS4 (E_sol < 0 per dopant)",
            columns=("E_sol",),
            unit="eV/dopant",
            weight=2.0,
            test=read.dissolves,
        ),
    ),
    summary=show.summary,
    section=show.section,
    build=lazy("lpsflow.descriptors.solution_energy.build"),
)
