"""Rank accelerants on the mechanism's criteria (SCIENCE.md item 9; pure, no I/O).

The input is the descriptor table of :func:`lpsflow.results.load` (one row per
accelerant and charge-compensation scheme). Each criterion reads one or two columns
and gives a value, a status (``pass``, ``fail`` or ``not computed``) and a reason:

=========  ==================================================  =====================
key        passes when                                          columns
=========  ==================================================  =====================
formation  dE_core - dE_Li7P3S11 < ``formation_margin``         dE_core_minus_Li7P3S11
           (the doped core forms before Li7P3S11; eV/atom)
solubility 0 < x_sol and the limit is resolved inside the       x_solubility,
           series (a '>= x_max' label is not limited; '< x_min' solubility
           is not a resolved non-zero solubility)
binding    E_bind_hetero < E_bind_homo (Li7P3S11(010) binds     E_bind_hetero,
           more strongly on core(100) than on itself)           E_bind_homo
mu_li      abs(mu_Li_core - mu_Li_Li7P3S11) >= ``mu_li_min``     mu_Li_core,
           (a difference that drives Li across the hetero-GB)   mu_Li_Li7P3S11
migration  Ea_gb < Ea_bulk (faster along the GB than across)    Ea_gb, Ea_bulk
=========  ==================================================  =====================

A criterion whose column is absent from the table, or empty for a row, is
``not computed``: never passed, never failed, never guessed (a branch switched off,
or a band or relaxation that did not converge). The last three read the interface,
Li-potential and NEB columns of the results table.

**Score rule** (:func:`rank`): ``score`` = sum of the weights of the passed
criteria; ``computed`` = sum of the weights of the criteria that could be evaluated.
Rows are ordered by score (high first), then by failed weight (``computed - score``,
low first), then by the formation margin (more negative first), then by name. A
criterion missing in a row therefore neither helps nor hurts beyond the passes it
did not earn; ``computed`` and ``total`` show how complete the evidence is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, Field

Status = Literal["pass", "fail", "not computed"]
PASS: Status = "pass"
FAIL: Status = "fail"
NOT_COMPUTED: Status = "not computed"

#: Descriptor columns the later issues add to the results table (names fixed here).
E_BIND_HETERO = "E_bind_hetero"  # eV/A^2, Li7P3S11(010) n layers on core(100)
E_BIND_HOMO = "E_bind_homo"  # eV/A^2, Li7P3S11(010) on Li7P3S11(010)
MU_LI_CORE = "mu_Li_core"  # eV, -min(E_v) in the doped core
MU_LI_LI7P3S11 = "mu_Li_Li7P3S11"  # eV, -min(E_v) in Li7P3S11
EA_GB = "Ea_gb"  # eV, climbing-image NEB barrier along the hetero-GB
EA_BULK = "Ea_bulk"  # eV, barrier across the grain (bulk)
FUTURE_COLUMNS = {
    E_BIND_HETERO: "interfaces (issue 4)",
    E_BIND_HOMO: "interfaces (issue 4)",
    MU_LI_CORE: "Li chemical potential (issue 5)",
    MU_LI_LI7P3S11: "Li chemical potential (issue 5)",
    EA_GB: "NEB barriers (issue 5)",
    EA_BULK: "NEB barriers (issue 5)",
}


class RankingConfig(BaseModel):
    """Weights and thresholds of the ranking (every field may be overridden)."""

    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "formation": 2.0,
            "solubility": 2.0,
            "binding": 1.0,
            "mu_li": 1.0,
            "migration": 1.0,
        },
        description="Weight of each criterion in the score. The first two carry the "
        "study's main argument (the core forms first and takes up only part of the "
        "accelerant), so they weigh double by default.",
    )
    formation_margin: float = Field(
        0.0,
        description="dE_core - dE_Li7P3S11 must be below this (eV/atom) to pass.",
    )
    binding_noise: float = Field(
        0.002,
        ge=0,
        description="|E_bind hetero - homo| (eV/A^2) below which a verdict from one "
        "interface start per n is flagged: another registry moved the quick "
        "campaign's E_bind by up to 0.002 and flipped this sign "
        "(interfaces.relax_top >= 2 resolves it).",
    )
    mu_li_min: float = Field(
        0.05,
        ge=0,
        description="Smallest |mu_Li(core) - mu_Li(Li7P3S11)| (eV) that counts as a "
        "driving force for Li redistribution (about 2 kB*T at room temperature).",
    )


class Criterion(BaseModel):
    """One criterion: what it tests and the columns it reads."""

    key: str = Field(..., description="Short name used for weights.")
    title: str = Field(..., description="What it tests, in words.")
    columns: list[str] = Field(..., description="Descriptor columns it reads.")
    unit: str = Field("", description="Unit of the value.")


CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        key="formation",
        title="doped core forms before Li7P3S11 (dE_core - dE_Li7P3S11 < 0)",
        columns=["dE_core_minus_Li7P3S11"],
        unit="eV/atom",
    ),
    Criterion(
        key="solubility",
        title="limited but non-zero solubility (0 < x_sol < x_max of the series)",
        columns=["x_solubility", "solubility"],
        unit="x",
    ),
    Criterion(
        key="binding",
        title="Li7P3S11 binds more strongly on the core (E_bind hetero < homo)",
        columns=[E_BIND_HETERO, E_BIND_HOMO],
        unit="eV/A^2",
    ),
    Criterion(
        key="mu_li",
        title="mu_Li differs across the hetero-GB (|mu_core - mu_Li7P3S11| large)",
        columns=[MU_LI_CORE, MU_LI_LI7P3S11],
        unit="eV",
    ),
    Criterion(
        key="migration",
        title="Li migrates faster along the GB than across the grain (Ea_gb < Ea_bulk)",
        columns=[EA_GB, EA_BULK],
        unit="eV",
    ),
)


class CriterionResult(BaseModel):
    """One criterion evaluated on one row."""

    key: str = Field(..., description="Criterion key.")
    value: float | None = Field(None, description="The tested number (None: absent).")
    display: str = Field(..., description="The value as shown in tables.")
    status: Status = Field(..., description="pass, fail or not computed.")
    reason: str = Field(..., description="Why, in words, with the numbers.")
    weight: float = Field(..., description="Weight in the score.")


class RankedRow(BaseModel):
    """One accelerant and scheme, its criteria and its place."""

    rank: int = Field(..., description="1 = most promising.")
    accelerant: str = Field(..., description="Accelerant formula.")
    scheme: str = Field(..., description="Charge-compensation scheme.")
    calculator: str = Field("", description="Calculator behind the numbers.")
    converged: bool | None = Field(None, description="All numbers from converged runs.")
    score: float = Field(..., description="Sum of the weights of passed criteria.")
    computed: float = Field(..., description="Sum of the weights of computed ones.")
    total: float = Field(..., description="Sum of all weights.")
    criteria: list[CriterionResult] = Field(..., description="Each criterion.")

    def status(self, key: str) -> Status:
        """Status of criterion ``key``."""
        return next(c.status for c in self.criteria if c.key == key)


def _num(row: Mapping[str, Any], column: str) -> float | None:
    value = row.get(column)
    if value is None or isinstance(value, str | bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _missing(row: Mapping[str, Any], columns: list[str]) -> str:
    absent = [c for c in columns if c not in row]
    if absent:
        where = sorted({FUTURE_COLUMNS.get(c, "this campaign") for c in absent})
        return f"not computed: {', '.join(absent)} absent ({'; '.join(where)})"
    return f"not computed: no value for {', '.join(columns)} (job pending or failed)"


def _formation(row: Mapping[str, Any], cfg: RankingConfig) -> tuple:
    d = _num(row, "dE_core_minus_Li7P3S11")
    if d is None:
        return None, "-", NOT_COMPUTED, _missing(row, ["dE_core_minus_Li7P3S11"])
    ok = d < cfg.formation_margin
    rel = "below" if ok else "not below"
    return (
        d,
        f"{d:+.4f}",
        PASS if ok else FAIL,
        f"dE_core - dE_Li7P3S11 = {d:+.4f} eV/atom, {rel} {cfg.formation_margin:g}: "
        + ("the core is driven to form first" if ok else "Li7P3S11 is favoured"),
    )


def _solubility(row: Mapping[str, Any], cfg: RankingConfig) -> tuple:
    label = row.get("solubility")
    if not isinstance(label, str) or not label:
        return None, "-", NOT_COMPUTED, _missing(row, ["x_solubility", "solubility"])
    x = _num(row, "x_solubility")
    if label.startswith(">="):
        return (
            x,
            label,
            FAIL,
            f"x_sol {label}: still below the hull threshold at the largest x "
            "computed, so not shown to be limited",
        )
    if x is None or label.startswith("<"):
        return (
            None,
            label,
            FAIL,
            f"x_sol {label}: above the hull threshold already at the smallest x "
            "computed; a non-zero solubility is not resolved (add smaller x to "
            "doping.solubility_x)",
        )
    if x <= 0:
        return x, label, FAIL, f"x_sol = {label}: no solubility"
    return (
        x,
        label,
        PASS,
        f"x_sol = {label} ({x:.4g}): non-zero and limited within the series, so "
        "accelerant beyond it stays unreacted and raises the residual P/S",
    )


def _pair(
    row: Mapping[str, Any],
    a: str,
    b: str,
    test: Callable[[float, float], tuple[float, bool, str]],
) -> tuple:
    va, vb = _num(row, a), _num(row, b)
    if va is None or vb is None:
        return None, "-", NOT_COMPUTED, _missing(row, [a, b])
    value, ok, reason = test(va, vb)
    return value, f"{value:+.4f}", PASS if ok else FAIL, reason


def _binding(row: Mapping[str, Any], cfg: RankingConfig) -> tuple:
    starts = _num(row, "binding_starts_hetero")

    def test(het: float, hom: float) -> tuple[float, bool, str]:
        ok = het < hom
        noisy = abs(het - hom) < cfg.binding_noise and (starts or 1) <= 1
        return (
            het - hom,
            ok,
            f"E_bind hetero {het:+.4f} vs homo {hom:+.4f} eV/A^2: Li7P3S11 "
            + ("prefers to nucleate on the core" if ok else "prefers itself")
            + (
                f"; within {cfg.binding_noise:g} of each other from one interface "
                "start per n: not resolved (interfaces.relax_top >= 2)"
                if noisy
                else ""
            ),
        )

    return _pair(row, E_BIND_HETERO, E_BIND_HOMO, test)


def _mu_li(row: Mapping[str, Any], cfg: RankingConfig) -> tuple:
    def test(core: float, li7: float) -> tuple[float, bool, str]:
        d = core - li7
        ok = abs(d) >= cfg.mu_li_min
        to = "Li7P3S11" if d > 0 else "the core"
        return (
            d,
            ok,
            f"mu_Li(core) - mu_Li(Li7P3S11) = {d:+.4f} eV "
            f"({'>=' if ok else '<'} {cfg.mu_li_min:g} in size): Li+ tends to move "
            f"towards {to}" + ("" if ok else ", too weakly to matter"),
        )

    return _pair(row, MU_LI_CORE, MU_LI_LI7P3S11, test)


def _migration(row: Mapping[str, Any], cfg: RankingConfig) -> tuple:
    def test(gb: float, bulk: float) -> tuple[float, bool, str]:
        ok = gb < bulk
        return (
            gb - bulk,
            ok,
            f"Ea along GB {gb:.3f} vs across grain {bulk:.3f} eV: "
            + ("the GB is a fast path" if ok else "no faster along the GB"),
        )

    return _pair(row, EA_GB, EA_BULK, test)


_EVALUATORS = {
    "formation": _formation,
    "solubility": _solubility,
    "binding": _binding,
    "mu_li": _mu_li,
    "migration": _migration,
}


def evaluate(
    row: Mapping[str, Any], config: RankingConfig | None = None
) -> list[CriterionResult]:
    """Every criterion on one descriptor row (a dict or a pandas Series)."""
    cfg = config or RankingConfig()
    row = dict(row)
    out = []
    for crit in CRITERIA:
        value, display, status, reason = _EVALUATORS[crit.key](row, cfg)
        out.append(
            CriterionResult(
                key=crit.key,
                value=value,
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
    total = sum(cfg.weights.get(c.key, 0.0) for c in CRITERIA)
    scored = []
    for _, row in df.iterrows():
        results = evaluate(row, cfg)
        score = sum(c.weight for c in results if c.status == PASS)
        computed = sum(c.weight for c in results if c.status != NOT_COMPUTED)
        margin = results[0].value if results[0].value is not None else math.inf
        key = (-score, computed - score, margin, str(row["accelerant"]))
        conv = row.get("converged")
        conv = None if conv is None or conv != conv else bool(conv)  # NaN: unknown
        scored.append(
            (
                key,
                {
                    "accelerant": str(row["accelerant"]),
                    "scheme": str(row.get("scheme", "")),
                    "calculator": str(row.get("calculator", "") or ""),
                    "converged": conv,
                    "score": score,
                    "computed": computed,
                    "total": total,
                    "criteria": results,
                },
            )
        )
    scored.sort(key=lambda kv: kv[0])
    return [RankedRow(rank=i + 1, **data) for i, (_, data) in enumerate(scored)]


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
            "total": r.total,
        }
        for c in r.criteria:
            rec[c.key] = c.value
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
        for crit in CRITERIA:
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


def x_of(label: str) -> float:
    """Float of an x label such as '1/8'."""
    return float(Fraction(label))
