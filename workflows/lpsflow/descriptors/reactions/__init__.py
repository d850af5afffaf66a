"""Reaction energies dE_r of the doped cores and of the LPS products (SCIENCE.md 2)."""

from lpsflow.descriptors.base import Criterion, Descriptor, Headline, lazy
from lpsflow.descriptors.reactions import read, show

DESCRIPTOR = Descriptor(
    name="reactions",
    title="Reaction energies of the doped cores and of Li7P3S11, Li4P2S6, Li3PS4",
    doc="docs/reaction-energies.md",
    columns=read.columns,
    jobs=read.JOBS,
    finish=read.preferred,
    headline=(
        Headline("dE_core", "dE_core"),
        Headline("dE_Li7P3S11", "dE_Li7P3S11"),
        Headline("dE_Li4P2S6", "dE_Li4P2S6"),
        Headline("dE_Li3PS4", "dE_Li3PS4"),
        Headline("core - Li7P3S11", "dE_core_minus_Li7P3S11"),
    ),
    criteria=(
        Criterion(
            key="formation",
            title="doped core forms before Li7P3S11 (dE_core - dE_Li7P3S11 < 0)",
            columns=("dE_core_minus_Li7P3S11",),
            unit="eV/atom",
            weight=2.0,
            test=read.formation,
            samples=("doping.relax_top",),
        ),
    ),
    summary=show.summary,
    section=show.section,
    build=lazy("lpsflow.descriptors.reactions.build"),
)
