"""Rank accelerants on the mechanism's criteria (SCIENCE.md item 9; pure, no I/O).

The input is the descriptor table of :func:`lpsflow.results.load` (one row per
accelerant and charge-compensation scheme). Each criterion belongs to its
descriptor (:func:`lpsflow.descriptors.criteria`, in registry order), reads one or
two columns and gives a value, a status (``pass``, ``fail``, ``undecided`` or
``not computed``) and a reason. The criteria, their tests and default weights are
the descriptors' own (the report's criteria table lists them; each descriptor's
page under ``docs/`` defines its test): the doped core forms before Li7P3S11
(``formation``), the dopant dissolves in Li3PS4 (``solution``), a limited
solubility, stronger binding on the core, a mu_Li difference and a faster path
along the GB, and any descriptor added to the registry.

A criterion whose column is absent from the table, or empty for a row, is
``not computed``: never passed, never failed, never guessed (a branch switched off,
or a band or relaxation that did not converge). One whose numbers allow either
verdict is ``undecided``: evaluated, neither passed nor failed. Most often its
margin lies inside the combined spread of the descriptors it compares (each value
is the lowest of its samples; its spread the gap to the next, see
:mod:`lpsflow.descriptors.spread`), or a value rests on one sample.

**Score rule** (:func:`rank`): ``score`` = sum of the weights of the passed
criteria (decided passes only); ``undecided`` = the weights left undecided;
``computed`` = sum of the weights of the criteria that could be evaluated. Rows are
ordered by score (high first), then by failed weight (low first), then by the
values of ``RankingConfig.order_by`` (lower first: the solution energy per dopant,
then the formation margin), then by name. A criterion undecided in any row of a
tie does not order it, and values within each other's spread are level (the next
criterion decides; ``tied`` marks rows ordered by name only): a value inside its
spread never breaks a tie. A criterion missing in a row therefore neither helps nor
hurts beyond the passes it did not earn; ``computed`` and ``total`` show how
complete the evidence is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

from lpsflow.descriptors import criteria
from lpsflow.descriptors.base import FAIL, NOT_COMPUTED, PASS, UNDECIDED, Status


class RankingConfig(BaseModel):
    """Weights and thresholds of the ranking (every field may be overridden)."""

    weights: dict[str, float] = Field(
        default_factory=lambda: {c.key: c.weight for c in criteria()},
        description="Weight of each criterion in the score (default: each "
        "criterion's own, see the report's criteria table: formation and "
        "solubility weigh 2, as they carry the study's main argument, that the "
        "core forms first and takes up only part of the accelerant; the others 1).",
    )
    order_by: list[str] = Field(
        default_factory=lambda: ["solution", "formation"],
        description="Criteria whose values (lower first) order rows of equal score "
        "and failed weight: the solution energy per dopant (what the dopant does), "
        "then the formation margin.",
    )
    solubility_floor: float = Field(
        0.01,
        ge=0,
        description="Smallest solubility limit (dopant per PS4) that counts as the "
        "core taking up the dopant; below it the core is essentially undoped.",
    )
    solubility_sample: str = Field(
        "LPS7228",
        description="Sample whose accelerant content (M per P) the solubility limit "
        "must stay below, so that part of the accelerant is left (the study's best "
        "sample: 0.143 for Al2S3, 0.107 for SiS2).",
    )
    formation_margin: float = Field(
        0.0,
        description="dE_core - dE_Li7P3S11 must be below this (eV/atom) to pass.",
    )
    binding_noise: float = Field(
        0.002,
        ge=0,
        description="Spread (eV/A^2) assumed for each E_bind from one interface "
        "start per n (no sampled spread): another registry moved the quick "
        "campaign's E_bind by up to 0.002 and flipped the sign of dE_bind "
        "(interfaces.relax_top >= 2 samples the spread instead).",
    )
    mu_li_min: float = Field(
        0.05,
        ge=0,
        description="Smallest |mu_Li(core) - mu_Li(Li7P3S11)| (eV) that counts as a "
        "driving force for Li redistribution (about 2 kB*T at room temperature).",
    )


class CriterionResult(BaseModel):
    """One criterion evaluated on one row."""

    key: str = Field(..., description="Criterion key.")
    value: float | None = Field(None, description="The tested number (None: absent).")
    spread: float | None = Field(
        None,
        description="How far the value could still move: the sum of the spreads of "
        "the descriptors it is computed from (None: unknown, e.g. one sample).",
    )
    display: str = Field(..., description="The value as shown in tables.")
    status: Status = Field(
        ..., description="pass, fail, undecided (inside the spread) or not computed."
    )
    reason: str = Field(..., description="Why, in words, with the numbers.")
    weight: float = Field(..., description="Weight in the score.")


class RankedRow(BaseModel):
    """One accelerant and scheme, its criteria and its place."""

    rank: int = Field(..., description="1 = most promising.")
    tied: bool = Field(
        False,
        description="Level with the row before: equal score and failed weight, and "
        "no decided order_by value apart from its by more than their spreads "
        "(ordered by name only).",
    )
    accelerant: str = Field(..., description="Accelerant formula.")
    scheme: str = Field(..., description="Charge-compensation scheme.")
    calculator: str = Field("", description="Calculator behind the numbers.")
    converged: bool | None = Field(None, description="All numbers from converged runs.")
    score: float = Field(..., description="Sum of the weights of passed criteria.")
    computed: float = Field(..., description="Sum of the weights of computed ones.")
    undecided: float = Field(
        0.0,
        description="Sum of the weights of computed criteria left undecided (their "
        "margin inside the spread of the descriptors they compare).",
    )
    total: float = Field(..., description="Sum of all weights.")
    criteria: list[CriterionResult] = Field(..., description="Each criterion.")

    def status(self, key: str) -> Status:
        """Status of criterion ``key``."""
        return next(c.status for c in self.criteria if c.key == key)


def evaluate(
    row: Mapping[str, Any], config: RankingConfig | None = None
) -> list[CriterionResult]:
    """Every criterion on one descriptor row (a dict or a pandas Series)."""
    cfg = config or RankingConfig()
    row = dict(row)
    out = []
    for crit in criteria():
        value, display, status, reason = crit.test(row, cfg)
        out.append(
            CriterionResult(
                key=crit.key,
                value=value,
                spread=crit.spread(row, cfg) if value is not None else None,
                display=display,
                status=status,
                reason=reason,
                weight=cfg.weights.get(crit.key, 0.0),
            )
        )
    return out


def rank(df: pd.DataFrame, config: RankingConfig | None = None) -> list[RankedRow]:
    """Rank the rows of a descriptor table (see the module doc for the rule)."""
    cfg = config or RankingConfig()
    total = sum(cfg.weights.get(c.key, 0.0) for c in criteria())
    groups: dict[tuple[float, float], list[dict[str, Any]]] = {}
    for _, row in df.iterrows():
        results = evaluate(row, cfg)

        def weight(*states: Status, results: list[CriterionResult] = results) -> float:
            return sum(c.weight for c in results if c.status in states)

        conv = row.get("converged")
        conv = None if conv is None or conv != conv else bool(conv)  # NaN: unknown
        data = {
            "accelerant": str(row["accelerant"]),
            "scheme": str(row.get("scheme", "")),
            "calculator": str(row.get("calculator", "") or ""),
            "converged": conv,
            "score": weight(PASS),
            "computed": total - weight(NOT_COMPUTED),
            "undecided": weight(UNDECIDED),
            "total": total,
            "criteria": results,
        }
        groups.setdefault((-data["score"], weight(FAIL)), []).append(data)
    out: list[RankedRow] = []
    for key in sorted(groups):
        for data, tied in _order_ties(groups[key], cfg.order_by):
            out.append(RankedRow(rank=len(out) + 1, tied=tied, **data))
    return out


def _order_ties(
    rows: list[dict[str, Any]], order_by: list[str]
) -> list[tuple[dict[str, Any], bool]]:
    """Rows of equal score and failed weight, by ``order_by``, then by name.

    A criterion undecided in any of the rows does not order them; the others put
    the rows into levels (:func:`_levels`: values within each other's spread are
    level) and only the level orders them, rows on one level going to the next
    criterion; not computed sorts last. Each row comes with whether it is level
    with the one before (ordered by name only).
    """

    def result(row: dict[str, Any], key: str) -> CriterionResult | None:
        c = next((c for c in row["criteria"] if c.key == key), None)
        ok = c is not None and c.status != NOT_COMPUTED and c.value is not None
        return c if ok else None

    usable = [
        k
        for k in order_by
        if not any((c := result(r, k)) and c.status == UNDECIDED for r in rows)
    ]
    levels = [_levels([result(r, k) for r in rows]) for k in usable]
    keyed = sorted(
        (
            (tuple(lv[i] for lv in levels), (row["accelerant"], row["scheme"]), row)
            for i, row in enumerate(rows)
        ),
        key=lambda t: (t[0], t[1]),
    )
    return [
        (row, k > 0 and key == keyed[k - 1][0]) for k, (key, _, row) in enumerate(keyed)
    ]


def _levels(results: list[CriterionResult | None]) -> list[float]:
    """Level of each value (inf where none), lower values on lower levels.

    Values whose intervals (value +/- spread) overlap, directly or through others,
    share one; one value of unknown spread puts every value on one level.
    """
    known = [(c.value, c.spread, i) for i, c in enumerate(results) if c is not None]
    out = [math.inf] * len(results)
    if any(s is None for _, s, _ in known):
        for _, _, i in known:
            out[i] = 0.0
        return out
    level, top = -1, -math.inf
    for low, high, i in sorted((v - s, v + s, i) for v, s, i in known):  # type: ignore[operator]
        if low > top:  # intervals sorted by their lower end: a gap starts a level
            level += 1
        top = max(top, high)
        out[i] = float(level)
    return out


def ranking_table(ranked: list[RankedRow]) -> pd.DataFrame:
    """Flat table: one row per accelerant/scheme, value and status per criterion."""
    rows = []
    for r in ranked:
        rec: dict[str, Any] = {
            "rank": r.rank,
            "accelerant": r.accelerant,
            "scheme": r.scheme,
            "calculator": r.calculator,
            "score": r.score,
            "computed": r.computed,
            "undecided": r.undecided,
            "total": r.total,
        }
        rec["tied"] = r.tied
        for c in r.criteria:
            rec[c.key] = c.value
            rec[f"{c.key}_spread"] = c.spread
            rec[f"{c.key}_status"] = c.status
        rows.append(rec)
    return pd.DataFrame(rows)


# --- two models ------------------------------------------------------------------


class Disagreement(BaseModel):
    """One criterion of one accelerant/scheme under two calculators."""

    accelerant: str = Field(..., description="Accelerant formula.")
    scheme: str = Field(..., description="Charge-compensation scheme.")
    criterion: str = Field(..., description="Criterion key, or 'rank'.")
    status_a: str = Field(..., description="Status (or rank) with calculator A.")
    status_b: str = Field(..., description="Status (or rank) with calculator B.")
    value_a: str = Field("-", description="Value with calculator A.")
    value_b: str = Field("-", description="Value with calculator B.")
    agree: bool | None = Field(
        ..., description="Same verdict; None if either is not computed."
    )


class Comparison(BaseModel):
    """The same campaign under two calculators, criterion by criterion."""

    calculator_a: str = Field(..., description="Calculator of table A.")
    calculator_b: str = Field(..., description="Calculator of table B.")
    ranked_a: list[RankedRow] = Field(..., description="Ranking with A.")
    ranked_b: list[RankedRow] = Field(..., description="Ranking with B.")
    rows: list[Disagreement] = Field(..., description="Every criterion, both models.")

    @property
    def disagreements(self) -> list[Disagreement]:
        """Criteria (and ranks) on which the two calculators differ."""
        return [r for r in self.rows if r.agree is False]


def compare(
    df_a: pd.DataFrame, df_b: pd.DataFrame, config: RankingConfig | None = None
) -> Comparison:
    """Rank both tables and flag every criterion whose verdict differs.

    Rows are matched on (accelerant, scheme); a row in one table only is listed with
    'absent' for the other. A criterion computed in one model only is not a
    disagreement (``agree`` is None); neither is a difference of value alone.
    """
    ra, rb = rank(df_a, config), rank(df_b, config)
    by_a = {(r.accelerant, r.scheme): r for r in ra}
    by_b = {(r.accelerant, r.scheme): r for r in rb}
    rows = []
    for key in sorted(set(by_a) | set(by_b)):
        a, b = by_a.get(key), by_b.get(key)
        for crit in criteria():
            ca = next((c for c in a.criteria if c.key == crit.key), None) if a else None
            cb = next((c for c in b.criteria if c.key == crit.key), None) if b else None
            sa = ca.status if ca else "absent"
            sb = cb.status if cb else "absent"
            known = {PASS, FAIL}
            rows.append(
                Disagreement(
                    accelerant=key[0],
                    scheme=key[1],
                    criterion=crit.key,
                    status_a=sa,
                    status_b=sb,
                    value_a=ca.display if ca else "-",
                    value_b=cb.display if cb else "-",
                    agree=(sa == sb) if sa in known and sb in known else None,
                )
            )
        if a and b:
            rows.append(
                Disagreement(
                    accelerant=key[0],
                    scheme=key[1],
                    criterion="rank",
                    status_a=str(a.rank),
                    status_b=str(b.rank),
                    agree=a.rank == b.rank,
                )
            )
    return Comparison(
        calculator_a=_calculator(df_a, "A"),
        calculator_b=_calculator(df_b, "B"),
        ranked_a=ra,
        ranked_b=rb,
        rows=rows,
    )


def compare_calculators(
    df: pd.DataFrame, config: RankingConfig | None = None
) -> Comparison | None:
    """:func:`compare` on one table holding rows of exactly two calculators."""
    if "calculator" not in df or df["calculator"].nunique() != 2:
        return None
    a, b = sorted(df["calculator"].unique())
    return compare(df[df["calculator"] == a], df[df["calculator"] == b], config)


def _calculator(df: pd.DataFrame, default: str) -> str:
    if "calculator" in df and not df.empty:
        return ", ".join(sorted(set(map(str, df["calculator"]))))
    return default
