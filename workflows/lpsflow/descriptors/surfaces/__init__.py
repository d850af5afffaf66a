"""Surface energies of candidate Li7P3S11 film planes (the film's plane, item 8)."""

from lpsflow.descriptors.base import Descriptor, lazy
from lpsflow.descriptors.surfaces import read, show

DESCRIPTOR = Descriptor(
    name="surfaces",
    title="Surface energies of candidate Li7P3S11 film planes",
    doc="docs/surfaces.md",
    columns=read.columns,
    jobs=read.JOBS,
    summary=show.summary,
    section=show.section,
    build=lazy("lpsflow.descriptors.surfaces.build"),
)
