"""Descriptors as statistics: the value used, its spread and its sample count.

A descriptor is computed from samples (dopant arrangements, interface registries,
Li sites, hop classes) and uses one of them: the lowest. How far that value could
still move is estimated from its neighbour in the sorted samples, the gap between
the lowest and the next-lowest distinct sample (samples within a tolerance of each
other are one state found twice). With one distinct sample there is no gap: the
spread is unknown (None), and a verdict resting on it is undecided unless its
criterion assumes a spread for it (``binding_noise``). Where every distinct
candidate was computed the value is exact for the model (spread 0); so is a
quantity that is not sampled (a known crystal relaxed once).

The spread is used symmetrically although more sampling only lowers a lowest: it
also stands for what moves a value between runs (round-off, another machine),
which ``benchmarks/verdicts.py`` checks it covers.

Every descriptor column ``X`` a criterion reads comes with ``X_spread`` and
``X_samples``; :func:`decide` turns a criterion's margin and the spreads of its columns
into pass, fail or undecided (margin inside the combined spread: their sum, the
most the difference could move if each value moved by its spread).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from lpsflow.descriptors.base import FAIL, PASS, UNDECIDED, Status, fmt, number


class Sample(NamedTuple):
    """A descriptor value, how far it could still move, and its sample count."""

    value: float | None
    spread: float | None
    """Gap to the neighbouring sample (None: one sample, or none)."""
    n: int
    """Distinct samples it was chosen from."""

    def columns(self, name: str) -> dict[str, Any]:
        """``{name, name_spread, name_samples}``."""
        return {
            name: self.value,
            f"{name}_spread": self.spread,
            f"{name}_samples": self.n,
        }

    def scaled(self, factor: float) -> Sample:
        """The same sample in other units (value and spread times ``factor``)."""
        return Sample(
            None if self.value is None else self.value * factor,
            None if self.spread is None else self.spread * abs(factor),
            self.n,
        )


NONE = Sample(None, None, 0)


def lowest(samples: Iterable[float | None], tol: float = 0.0) -> Sample:
    """The lowest sample and its gap to the next-lowest distinct one.

    Samples within ``tol`` of the one below them are the same minimum found
    again (two starts relaxing into one state) and count once; None and NaN
    (unconverged) are skipped. With one distinct sample the spread is unknown.
    """
    xs = sorted(float(x) for x in samples if x is not None and not math.isnan(x))
    distinct: list[float] = []
    for x in xs:
        if not distinct or x - distinct[-1] > tol:
            distinct.append(x)
    if not distinct:
        return NONE
    gap = distinct[1] - distinct[0] if len(distinct) > 1 else None
    return Sample(distinct[0], gap, len(distinct))


def difference(a: Sample, b: Sample) -> Sample:
    """The difference a - b, its spread the sum of both (None if either is unknown)."""
    if a.value is None or b.value is None:
        return NONE
    spread = None if a.spread is None or b.spread is None else a.spread + b.spread
    return Sample(a.value - b.value, spread, max(a.n, b.n))


def spread_of(
    row: Mapping[str, Any], column: str, assumed: Mapping[str, float] | None = None
) -> tuple[float | None, str]:
    """(spread, how it is known) of a column's value in a row.

    ``assumed`` (column -> spread) stands in where the column has one sample;
    a table without the spread columns (an older export) has an unknown spread.
    """
    s = number(row, f"{column}_spread")
    n = number(row, f"{column}_samples")
    if s is not None:
        return s, f"{int(n)} samples" if n is not None and n > 1 else "not sampled"
    if assumed and column in assumed:
        return assumed[column], "one sample, spread assumed"
    return None, "one sample" if n == 1 else "no spread"


def combined(
    row: Mapping[str, Any],
    columns: Iterable[str],
    assumed: Mapping[str, float] | None = None,
) -> tuple[float | None, list[str]]:
    """Sum of the columns' spreads (None if any is unknown) and each in words."""
    parts: list[str] = []
    total: float | None = 0.0
    for c in columns:
        s, how = spread_of(row, c, assumed)
        if s is None:
            total = None
            parts.append(f"{c}: {how}, spread unknown")
        else:
            total = None if total is None else total + s
            parts.append(f"{c} +/- {s:.3g} ({how})")
    return total, parts


def decide(
    ok: bool,
    margin: float,
    row: Mapping[str, Any],
    columns: Iterable[str],
    reason: str,
    assumed: Mapping[str, float] | None = None,
    more: str = "",
) -> tuple[Status, str]:
    """Pass/fail from ``ok``, undecided when ``|margin|`` is inside the spreads.

    ``margin``: how far the tested number is from the criterion's threshold; the
    combined spread is the sum of the columns' spreads (:func:`combined`).
    ``more``: what would decide it (which setting samples more), said when
    undecided.
    """
    total, parts = combined(row, columns, assumed)
    if total is None:
        why = "spread unknown"
    elif abs(margin) <= total:
        why = f"margin {abs(margin):.3g} inside the spread {total:.3g}"
    else:
        verdict = PASS if ok else FAIL
        return verdict, f"{reason} [margin {abs(margin):.3g} > spread {total:.3g}]"
    tail = f"; {more}" if more else ""
    return UNDECIDED, f"{reason} {INSIDE}{why}: {'; '.join(parts)}{tail}]"


#: How :func:`decide` marks a verdict undecided by its spread (more samples may
#: decide it), unlike one undecided by a condition the campaign cannot fix.
INSIDE = "[undecided: "


def inside_spread(reason: str) -> bool:
    """Whether a verdict's reason says it is undecided by its spread."""
    return INSIDE in reason


def show(
    row: Mapping[str, Any], column: str, spec: str = "+.3f", scale: float = 1.0
) -> str:
    """``value +/- spread (n)`` of a column (times ``scale``), ``-`` where absent.

    ``(1)`` after a value from one sample (spread unknown); a value not sampled
    (spread 0 from one relaxation) shows alone.
    """
    v = number(row, column)
    if v is None:
        return "-"
    s, n = number(row, f"{column}_spread"), number(row, f"{column}_samples")
    text = fmt(v * scale, spec)
    if s is not None and n is not None and n > 1:
        return f"{text} +/- {fmt(s * scale, spec.lstrip('+'))} ({int(n)})"
    if n == 1 and s is None:
        return f"{text} (1)"
    return text
