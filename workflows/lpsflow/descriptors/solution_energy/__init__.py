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
            title="the dopant enters Li3PS4 from its sulfide (E_sol < 0 per dopant "
            "beside Li7P3S11 and beside Li2S; lower E_sol ranks first)",
            columns=("E_sol", "E_sol_Li2S_rich"),
            unit="eV/dopant",
            weight=1.0,
            test=read.dissolves,
            spread_columns=("E_sol",),
            samples=("doping.relax_top",),
        ),
    ),
    summary=show.summary,
    section=show.section,
    build=lazy("lpsflow.descriptors.solution_energy.build"),
)
