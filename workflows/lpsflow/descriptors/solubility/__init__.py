"""Solubility of the dopant in Li3PS4: x_sol from F(x), E_hull(x) (SCIENCE.md 3)."""

from lpsflow.descriptors.base import Criterion, Descriptor, Headline, lazy
from lpsflow.descriptors.solubility import read, show

DESCRIPTOR = Descriptor(
    name="solubility",
    title="Solubility limit of the dopant in the Li3PS4 core",
    doc="docs/solubility.md",
    columns=read.columns,
    jobs=read.JOBS,
    headline=(Headline("x_sol", "solubility", number=False),),
    criteria=(
        Criterion(
            key="solubility",
            title="the core takes up part of the accelerant (floor <= x_sol < M/P of "
            "the sample)",
            columns=("solubility_bounds",),
            unit="x",
            weight=2.0,
            test=read.limited,
        ),
    ),
    summary=show.summary,
    section=show.section,
    build=lazy("lpsflow.descriptors.solubility.build"),
)
