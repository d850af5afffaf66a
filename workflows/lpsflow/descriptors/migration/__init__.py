"""Li migration barriers along the GB and across the grain (SCIENCE.md 8)."""

from lpsflow.descriptors.base import Criterion, Descriptor, Headline, lazy
from lpsflow.descriptors.migration import read, show

DESCRIPTOR = Descriptor(
    name="migration",
    title="Li vacancy migration barriers Ea along the GB and across the grain",
    doc="docs/grain-boundaries-and-migration.md",
    columns=read.columns,
    jobs=read.JOBS,
    headline=(Headline("Ea_gb", "Ea_gb"), Headline("Ea_bulk", "Ea_bulk")),
    criteria=(
        Criterion(
            key="migration",
            title="Li migrates faster along the GB than across the grain "
            "(Ea_gb < Ea_bulk: percolation barriers where both paths span, else "
            "the lowest single hops)",
            columns=("Ea_gb", "Ea_bulk", "Ea_perc_gb", "Ea_perc_bulk"),
            unit="eV",
            weight=1.0,
            test=read.faster_along_gb,
            spread_columns=read.compared(""),
        ),
        Criterion(
            key="migration_Li7P3S11",
            title="the study's comparison: Li migrates faster along the Li7P3S11 GB "
            "than in the Li7P3S11 grain (Ea_gb_Li7P3S11 < Ea_bulk_Li7P3S11; the "
            "same for every accelerant: reported, weight 0)",
            columns=(
                "Ea_gb_Li7P3S11",
                "Ea_bulk_Li7P3S11",
                "Ea_perc_gb_Li7P3S11",
                "Ea_perc_bulk_Li7P3S11",
            ),
            unit="eV",
            weight=0.0,
            test=read.faster_along_li7p3s11_gb,
            spread_columns=read.compared("_Li7P3S11"),
        ),
    ),
    summary=show.summary,
    points=read.points,
    section=show.section,
    build=lazy("lpsflow.descriptors.migration.build"),
    needs=("grain_boundaries",),
)
