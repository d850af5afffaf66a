"""Grain-boundary energies of the homo, core and hetero boundaries (SCIENCE.md 6)."""

from lpsflow.descriptors.base import Descriptor, lazy
from lpsflow.descriptors.grain_boundaries import read, show

DESCRIPTOR = Descriptor(
    name="grain_boundaries",
    title="Grain-boundary energies gamma_GB (homo, core/core, hetero)",
    doc="docs/grain-boundaries-and-migration.md",
    columns=read.columns,
    jobs=read.JOBS,
    summary=show.summary,
    section=show.section,
    build=lazy("lpsflow.descriptors.grain_boundaries.build"),
)
