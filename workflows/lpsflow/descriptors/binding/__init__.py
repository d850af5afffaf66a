"""Binding of Li7P3S11(010) films on the doped core vs on itself (SCIENCE.md 4)."""

from lpsflow.descriptors.base import Criterion, Descriptor, Headline, lazy
from lpsflow.descriptors.binding import read, show

DESCRIPTOR = Descriptor(
    name="binding",
    title="Binding energy E_bind(n) of Li7P3S11 films, hetero (core) vs homo",
    doc="docs/binding.md",
    columns=read.columns,
    jobs=read.JOBS,
    headline=(
        Headline("E_bind_hetero", "E_bind_hetero"),
        Headline("E_bind_homo", "E_bind_homo"),
    ),
    criteria=(
        Criterion(
            key="binding",
            title="Li7P3S11 binds more strongly on the core (E_bind hetero < homo)",
            columns=("E_bind_hetero", "E_bind_homo"),
            unit="eV/A^2",
            weight=1.0,
            test=read.stronger_on_core,
            assumed=read.assumed,
            samples=("interfaces.relax_top",),
        ),
    ),
    summary=show.summary,
    points=read.points,
    section=show.section,
    build=lazy("lpsflow.descriptors.binding.build"),
)
