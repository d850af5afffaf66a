"""What a descriptor is, as the read side sees it.

A :class:`Descriptor` owns its columns of the results table (and the job ids behind
them), its ranking criteria, its lines in ``lpsflow results`` and its section of the
report. :mod:`lpsflow.results`, :mod:`lpsflow.query`, the ranking, the report and
the CLI iterate over :data:`lpsflow.descriptors.DESCRIPTORS` and hold no code of
their own for any one descriptor.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

    from lpsflow.analysis.ranking import RankingConfig
    from lpsflow.flows.campaign import CampaignBuild
    from lpsflow.report_render import Section
    from lpsflow.roles import Role
    from lpsflow.store import Stores

Status = Literal["pass", "fail", "undecided", "not computed"]
PASS: Status = "pass"
FAIL: Status = "fail"
UNDECIDED: Status = "undecided"
"""Computed, but the numbers allow either verdict (e.g. it depends on a condition
the campaign cannot fix, or the difference is inside the spread)."""
NOT_COMPUTED: Status = "not computed"

#: What a criterion's test returns: value, display text, status, reason.
Verdict = tuple[float | None, str, Status, str]


@dataclass
class RowContext:
    """What one row of the results table is built from (an accelerant and scheme)."""

    accelerant: str
    scheme: str
    jobs: dict[Role, str]
    """Every job of the campaign: role -> uuid."""
    outputs: dict[str, dict]
    """Outputs of the finished jobs: uuid -> output document."""
    failures: dict[str, str]
    """Failed jobs: uuid -> first line of the error."""
    calculator: str
    """Calculator label of the campaign (``mlip:CHGNet``, ``vasp``)."""

    def job(self, role: Role) -> tuple[str | None, dict | None]:
        """(uuid, output) of the job with ``role``; None where absent / not finished."""
        uuid = self.jobs.get(role)
        return uuid, (self.outputs.get(uuid) if uuid else None)

    def state(self, uuid: str) -> str:
        """done, failed or pending."""
        if uuid in self.outputs:
            return "done"
        return "failed" if uuid in self.failures else "pending"


@dataclass(frozen=True)
class Criterion:
    """One ranking criterion: what it tests, the columns it reads, its test."""

    key: str
    """Short name, used for weights."""
    title: str
    """What it tests, in words."""
    columns: tuple[str, ...]
    """Descriptor columns it reads."""
    unit: str
    """Unit of the value."""
    weight: float
    """Default weight in the score."""
    test: Callable[[Mapping[str, Any], RankingConfig], Verdict]
    """(row, config) -> (value, display, status, reason)."""
    spread_columns: (
        tuple[str, ...] | Callable[[Mapping[str, Any]], tuple[str, ...]] | None
    ) = None
    """Columns whose spreads add up to the value's, or row -> those columns
    (default: :attr:`columns`; the value of a comparison is their difference)."""

    assumed: Callable[[RankingConfig], Mapping[str, float]] | None = None
    """config -> spreads its test assumes for columns of one sample."""

    samples: tuple[str, ...] = ()
    """Campaign settings (``section.field``, counts) that sample more of what its
    value rests on: raised one by one while it is undecided (``sampling: {mode:
    adaptive}``, :mod:`lpsflow.sampling`)."""

    def spread(self, row: Mapping[str, Any], cfg: RankingConfig) -> float | None:
        """Spread of the value on ``row`` (None: unknown), as its test counts it."""
        from lpsflow.descriptors.spread import combined

        cols = self.spread_columns
        cols = cols(row) if callable(cols) else cols or self.columns
        return combined(row, cols, self.assumed(cfg) if self.assumed else None)[0]


@dataclass(frozen=True)
class Headline:
    """A column shown in the report's overview table."""

    header: str
    column: str
    number: bool = True
    """Format as a signed number (else as text)."""


@dataclass(frozen=True)
class Descriptor:
    """One descriptor: its jobs, columns, criteria, summary text and report section."""

    name: str
    """Registry key (also the key of its figure data in the report)."""
    title: str
    """What it is, in words."""
    doc: str
    """Its method page under ``docs/``."""
    columns: Callable[[RowContext], dict[str, Any]] | None = None
    """The row's columns of this descriptor, in table order."""
    jobs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Column -> the job-id columns behind it (default ``job_<column>``)."""
    finish: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    """Columns computed across rows, once the table is built."""
    headline: tuple[Headline, ...] = ()
    """Its columns in the report's overview table."""
    criteria: tuple[Criterion, ...] = ()
    """Its ranking criteria."""
    summary: Callable[[pd.DataFrame], Section | None] | None = None
    """Its part of ``lpsflow results`` as text (None: nothing computed), in the
    report's section model (:mod:`lpsflow.report_render`)."""
    points: Callable[[Stores, dict], pd.DataFrame | None] | None = None
    """(stores, manifest) -> the long table its figure draws (None: nothing yet)."""
    section: Callable[[pd.DataFrame, pd.DataFrame | None], Section] | None = None
    """(results, points) -> its section of the report."""
    build: Callable[[CampaignBuild], None] | None = None
    """Adds its jobs to a campaign being built (None: it computes nothing of its
    own, e.g. an analysis of other descriptors' results); see :func:`lazy`."""
    needs: tuple[str, ...] = ()
    """Descriptors whose jobs :attr:`build` finds by role (built before it)."""


def lazy(module: str, name: str = "build") -> Callable[..., Any]:
    """``module.name``, imported on first call.

    A descriptor's build step imports the calculators and jobflow; reading results
    needs neither, so the registry names it without importing it.
    """

    def call(*args: Any, **kwargs: Any) -> Any:
        import importlib

        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__qualname__ = call.__name__ = f"{module}.{name}"
    return call


# --- helpers shared by descriptors ----------------------------------------------


def number(row: Mapping[str, Any], column: str) -> float | None:
    """A finite number from a row, None for absent, NaN, text or booleans."""
    value = row.get(column)
    if value is None or isinstance(value, str | bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def missing(row: Mapping[str, Any], columns: list[str] | tuple[str, ...]) -> str:
    """Why a criterion reading ``columns`` is not computed on ``row``."""
    absent = [c for c in columns if c not in row]
    if absent:
        return (
            f"not computed: {', '.join(absent)} absent (the table has no such "
            "columns: an older export, or a branch this table was not built with)"
        )
    return f"not computed: no value for {', '.join(columns)} (job pending or failed)"


def pair(
    row: Mapping[str, Any],
    a: str,
    b: str,
    test: Callable[[float, float], tuple[float, bool, str]],
    margin: Callable[[float], float] | None = None,
    assumed: Mapping[str, float] | None = None,
    more: str = "",
) -> Verdict:
    """A criterion on two numbers: not computed unless both are there.

    ``test(a, b)`` gives (value, passes, reason); the verdict is undecided where
    ``margin(value)`` (default: the value, a test of its sign) lies inside the
    combined spread of ``a`` and ``b`` (:func:`lpsflow.descriptors.spread.decide`,
    ``assumed`` and ``more`` as there).
    """
    from lpsflow.descriptors.spread import decide

    va, vb = number(row, a), number(row, b)
    if va is None or vb is None:
        return None, "-", NOT_COMPUTED, missing(row, [a, b])
    value, ok, reason = test(va, vb)
    m = margin(value) if margin else value
    status, reason = decide(ok, m, row, (a, b), reason, assumed, more)
    return value, f"{value:+.4f}", status, reason


def fmt(value: Any, spec: str = "+.3f") -> str:
    """A number as text, ``-`` for None or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


def has_value(value: object) -> bool:
    """Not None and not NaN (dicts and lists count as values)."""
    if value is None:
        return False
    try:
        import pandas as pd

        return not pd.isna(value)
    except (TypeError, ValueError):  # dicts and lists
        return True


def any_value(df: pd.DataFrame, column: str) -> bool:
    """The table has the column and some row has a value in it."""
    return column in df and df[column].map(has_value).any()


def difference(a: float | None, b: float | None) -> float | None:
    """A - b, None unless both are there."""
    return a - b if a is not None and b is not None else None


def figure_section(
    anchor: str,
    title: str,
    name: str,
    points: pd.DataFrame | None,
    plot: Callable[[pd.DataFrame], bytes],
    why: str,
) -> Section:
    """A report section: the figure ``plot`` draws from ``points``.

    A placeholder saying ``why`` while there are no points.
    """
    from lpsflow.report_render import Figure, Placeholder, Section

    if points is None or points.empty:
        return Section(anchor, title, [Placeholder(title, why)])
    return Section(anchor, title, [Figure(name, plot(points), title)])


def per_accelerant(df: pd.DataFrame) -> pd.DataFrame:
    """The first row of each accelerant (values shared by its schemes)."""
    return df.groupby("accelerant").first()
