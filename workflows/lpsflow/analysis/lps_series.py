"""The study's LPS samples: names, compositions and measured conductivities.

:func:`parse_sample` reads names such as ``LPS7228`` or ``70Li2S-30P2S5``;
:data:`SERIES` lists the samples of the study with their measured values.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from pymatgen.core import Composition

from lpsflow.errors import CompositionError
from lpsflow.structures.accelerant import Accelerant, parse_accelerant

if TYPE_CHECKING:
    pass

#: Li2S mol% range of the study's series; outside it the model is not meant to apply.
LI2S_RANGE = (65.0, 75.0)


class SeriesSample(NamedTuple):
    """One sample of the study's series."""

    name: str
    li2s: int
    p2s5: int
    conductivity: float
    """Measured room-temperature conductivity (mS/cm, cold-pressed, Al2S3)."""


#: The study's LPS series (Al2S3 accelerant) with measured conductivities.
SERIES: tuple[SeriesSample, ...] = (
    SeriesSample("LPS7525", 75, 25, 0.20),
    SeriesSample("LPS7426", 74, 26, 0.64),
    SeriesSample("LPS7327", 73, 27, 3.3),
    SeriesSample("LPS7228", 72, 28, 13.2),
    SeriesSample("LPS7129", 71, 29, 1.43),
    SeriesSample("LPS7030", 70, 30, 0.33),
    SeriesSample("LPS6931", 69, 31, 0.03),
    SeriesSample("LPS6535", 65, 35, 0.014),
)


#: Synchrotron XRD of LPS7228 + Al2S3 (wt% of the crystalline phases).
MEASURED_LPS7228 = {"core": 0.271, "Li7P3S11": 0.729}


_COMPACT = re.compile(r"^LPS(\d{2})(\d{2})$", re.IGNORECASE)


_SEPARATED = re.compile(
    r"^(?:LPS)?[\s_-]*(\d+(?:\.\d+)?)\s*[-:/_]\s*(\d+(?:\.\d+)?)$", re.IGNORECASE
)


def parse_sample(name: str) -> tuple[float, float]:
    """Li2S : P2S5 = a : b (mol, a + b = 100) from 'LPS7228', 'LPS72-28' or '72:28'.

    Errors if the name does not parse, ``a + b != 100`` or ``a`` lies outside
    :data:`LI2S_RANGE` (above 75 the P/S = 0.25 rule needs negative accelerant).
    """
    text = str(name).strip()
    match = _COMPACT.match(text) or _SEPARATED.match(text)
    if not match:
        raise CompositionError(
            f"'{text}' is not an LPS sample name (expected e.g. LPS7228 or LPS72-28: "
            "Li2S:P2S5 = a:b mol with a + b = 100)"
        )
    a, b = float(match.group(1)), float(match.group(2))
    if abs(a + b - 100) > 1e-9:
        raise CompositionError(
            f"{text}: Li2S + P2S5 = {a:g} + {b:g} = {a + b:g}, must be 100 (mol%)"
        )
    lo, hi = LI2S_RANGE
    if not lo - 1e-9 <= a <= hi + 1e-9:
        raise CompositionError(
            f"{text}: Li2S:P2S5 = {a:g}:{b:g} is outside the series range "
            f"(Li2S {lo:g}-{hi:g} mol%; above {hi:g} the P/S = 0.25 rule would need "
            "a negative amount of accelerant)"
        )
    return a, b


def sample_name(li2s: float, p2s5: float) -> str:
    """Canonical name: 'LPS7228', or 'LPS72.5-27.5' for non-integer ratios."""
    if float(li2s).is_integer() and float(p2s5).is_integer():
        return f"LPS{int(li2s):02d}{int(p2s5):02d}"
    return f"LPS{li2s:g}-{p2s5:g}"


def accelerant_moles(li2s: float, p2s5: float, accelerant: str | Accelerant) -> float:
    """Moles y of accelerant MmSs that make the overall P/S ratio 0.25.

    P comes only from P2S5 and S from all three precursors, so
    ``2b / (a + 5b + s*y) = 1/4`` gives ``s*y = 3b - a``, i.e.

        y = (3b - a) / s,   moles of M = m*y = 2(3b - a) / q   (q = 2s/m).

    Al2S3/Ga2S3 (s = 3): y = b - a/3 (the study's rule); SiS2 (s = 2):
    y = (3b - a)/2. The accelerant always carries 3b - a mol S, the sulfur a glass
    with a < 3b lacks relative to Li3PS4. LPS7525 (a = 3b) is the end member, y = 0.
    """
    acc = accelerant_of(accelerant)
    s = Composition(acc.formula)["S"]
    y = (3 * p2s5 - li2s) / s
    if y < -1e-12:
        raise CompositionError(
            f"Li2S:P2S5 = {li2s:g}:{p2s5:g} would need {y:.4g} mol {acc.formula} "
            "(negative) for P/S = 0.25; the Li2S fraction must not exceed 75 mol%"
        )
    return max(y, 0.0)


def available_x(sample: str, accelerant: str | Accelerant) -> float:
    """Dopant per P the accelerant of ``sample`` brings (M/P of the whole batch).

    The most a Li3PS4 core could take up if it took all of it: LPS7228 with Al2S3
    0.143, with SiS2 0.107.
    """
    li2s, p2s5 = parse_sample(sample)
    acc = accelerant_of(accelerant)
    m = Composition(acc.formula)[acc.cation]
    return m * accelerant_moles(li2s, p2s5, acc) / (2 * p2s5)


def accelerant_of(accelerant: str | Accelerant) -> Accelerant:
    """The :class:`Accelerant` of a formula (or the accelerant itself)."""
    if isinstance(accelerant, Accelerant):
        return accelerant
    return parse_accelerant(accelerant)
