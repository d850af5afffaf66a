"""Li chemical potential of the core, Li7P3S11 and the hetero GB (SCIENCE.md 5)."""

from lpsflow.descriptors.base import Criterion, Descriptor, Headline, lazy
from lpsflow.descriptors.mu_li import read, show

DESCRIPTOR = Descriptor(
    name="mu_li",
    title="Li chemical potential mu_Li = -min E_v per phase",
    doc="docs/mu-li.md",
    columns=read.columns,
    jobs=read.JOBS,
    headline=(
        Headline("mu_Li_core", "mu_Li_core"),
        Headline("mu_Li_Li7P3S11", "mu_Li_Li7P3S11"),
    ),
    criteria=(
        Criterion(
            key="mu_li",
            title="mu_Li differs across the hetero-GB (|mu_core - mu_Li7P3S11| large)",
            columns=("mu_Li_core", "mu_Li_Li7P3S11"),
            unit="eV",
            weight=1.0,
            test=read.differs,
            samples=("vacancies.relax_top",),
        ),
    ),
    summary=show.summary,
    points=read.points,
    section=show.section,
    build=lazy("lpsflow.descriptors.mu_li.build"),
    needs=("grain_boundaries",),
)
