"""Solubility of the dopant in Li3PS4: E_hull(x) and the limit x_sol (SCIENCE.md 3)."""

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
            title="limited but non-zero solubility (0 < x_sol < x_max of the series)",
            columns=("x_solubility", "solubility"),
            unit="x",
            weight=2.0,
            test=read.limited,
        ),
    ),
    summary=show.summary,
    section=show.section,
    build=lazy("lpsflow.descriptors.solubility.build"),
)
