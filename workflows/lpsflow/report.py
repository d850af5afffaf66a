"""``lpsflow report``: what a campaign concludes, as one HTML page or Markdown.

:func:`collect` reads everything from the store (descriptors, ranking, the same
definition run with another calculator, failures); :func:`build` turns it into
sections; :func:`write` renders them. Every number shown comes from the store, except
the measured conductivities of the study's LPS series, which are quoted (and
labelled) from :data:`lpsflow.analysis.lps_series.SERIES`.

Each registered descriptor (:data:`lpsflow.descriptors.DESCRIPTORS`) gives its
columns of the overview table and its own section; one whose figure needs more
than the results table reads its long table from the store (``points``). Where a
descriptor has nothing yet, its section says "not computed in this campaign" and
why.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from lpsflow import __version__, descriptors
from lpsflow.analysis import ranking as rk
from lpsflow.descriptors import criteria
from lpsflow.descriptors.base import fmt as number_text
from lpsflow.errors import LpsflowError
from lpsflow.report_render import (
    Section,
    Table,
    Text,
    to_html,
    to_markdown,
)
from lpsflow.results import NoResultsError, campaign_names, failures, load, manifest

if TYPE_CHECKING:
    from lpsflow.store import Stores

#: Keys of a campaign definition that do not change what is compared across models.
_NOT_DEFINITION = ("name", "description", "store", "workdir", "calculator")


@dataclass
class ReportData:
    """Everything the report shows, read from one store."""

    campaign: str
    location: str
    definition: dict[str, Any]
    results: pd.DataFrame
    ranked: list[rk.RankedRow]
    failures: dict[str, str]
    comparisons: dict[str, rk.Comparison] = field(default_factory=dict)
    extras: dict[str, pd.DataFrame | None] = field(default_factory=dict)
    """Long tables behind the descriptors' figures, by descriptor name."""
    config: rk.RankingConfig = field(default_factory=rk.RankingConfig)


def require_campaign(stores: Stores, campaign: str) -> dict[str, Any]:
    """The manifest, or a clear error for an empty store or an unknown name."""
    if not campaign_names(stores):
        raise NoResultsError(
            f"the store at {stores.location} is empty: run the campaign first "
            "(lpsflow run CAMPAIGN.yaml)"
        )
    return manifest(stores, campaign)


def twin_campaigns(stores: Stores, campaign: str) -> list[str]:
    """Campaigns in the store with the same definition but another calculator."""
    own = manifest(stores, campaign)["definition"]
    out = []
    for name in campaign_names(stores):
        if name == campaign:
            continue
        other = manifest(stores, name)["definition"]
        same = all(
            own.get(k) == other.get(k)
            for k in set(own) | set(other)
            if k not in _NOT_DEFINITION
        )
        if same and own.get("calculator") != other.get("calculator"):
            out.append(name)
    return out


def collect(
    campaign: str,
    stores: Stores,
    compare: list[str] | None = None,
    config: rk.RankingConfig | None = None,
) -> ReportData:
    """Read the campaign and the campaigns to compare it with (default: its twins)."""
    man = require_campaign(stores, campaign)
    df = load(campaign, stores)
    values = ["dE_core", "dE_Li7P3S11", "dE_Li4P2S6", "x_solubility"]
    if not df[values].notna().to_numpy().any():
        raise NoResultsError(
            f"campaign '{campaign}' has no finished results yet (states: "
            f"{', '.join(sorted(set(df['state'])))}); run it first"
        )
    cfg = config or rk.RankingConfig()
    data = ReportData(
        campaign=campaign,
        location=stores.location,
        definition=man["definition"],
        results=df,
        ranked=rk.rank(df, cfg),
        failures=failures(stores, campaign),
        config=cfg,
    )
    inner = rk.compare_calculators(df, cfg)
    if inner is not None:
        data.comparisons[campaign] = inner
    for other in twin_campaigns(stores, campaign) if compare is None else compare:
        data.comparisons[other] = rk.compare(df, load(other, stores), cfg)
    for d in descriptors.DESCRIPTORS:
        if d.points is not None:
            data.extras[d.name] = d.points(stores, man)
    return data


# --- sections --------------------------------------------------------------------


def _s(value: Any) -> str:
    return number_text(value, "") if isinstance(value, float) else str(value or "-")


def _descriptor_section(df: pd.DataFrame) -> Section:
    shown = [
        h for d in descriptors.DESCRIPTORS for h in d.headline if h.column in df.columns
    ]
    headers = [
        "accelerant",
        "scheme",
        "core",
        *(h.header for h in shown),
        "converged",
        "state",
        "calculator",
        "job (core)",
    ]
    rows = [
        [
            r["accelerant"],
            r["scheme"],
            _s(r["core"]),
            *(
                number_text(r[h.column], "+.4f") if h.number else _s(r[h.column])
                for h in shown
            ),
            "yes" if r["converged"] else "NO",
            r["state"],
            r["calculator"],
            str(r["job_core"])[:8],
        ]
        for _, r in df.iterrows()
    ]
    return Section(
        "descriptors",
        "Descriptor table",
        [
            Table(
                headers,
                rows,
                caption="Reaction energies dE_r (~dG_r) in eV/atom from the relaxed "
                "precursors; x_sol = solubility limit of the dopant (largest x below "
                "the hull threshold). Full job ids in the provenance section.",
            )
        ],
    )


def _ranking_section(data: ReportData) -> Section:
    cfg, ranked = data.config, data.ranked
    keys = [c.key for c in criteria()]
    rows, classes, reasons, reason_cls = [], [], [], []
    css = {"pass": "pass", "fail": "fail", "undecided": "flag", "not computed": "nc"}
    for r in ranked:
        rows.append(
            [
                f"{r.rank}=" if r.tied else str(r.rank),
                r.accelerant,
                r.scheme,
                f"{r.score:g} / {r.computed:g} (of {r.total:g})",
                f"{r.undecided:g}",
                *(
                    c.status if c.display == "-" else f"{c.status} {c.display}"
                    for c in r.criteria
                ),
            ]
        )
        classes.append(["", "", "", "", "", *(css[c.status] for c in r.criteria)])
        for c in r.criteria:
            reasons.append([f"{r.accelerant} {r.scheme}", c.key, c.status, c.reason])
            reason_cls.append(["", "", css[c.status], "text"])
    weights = [
        [
            c.key,
            f"{cfg.weights.get(c.key, 0.0):g}",
            c.title,
            ", ".join(c.columns),
            c.unit,
        ]
        for c in criteria()
    ]
    return Section(
        "ranking",
        "Ranking of the accelerants",
        [
            Text(
                "Score = sum of the weights of the decided passes; computed = sum "
                "of the weights of the criteria that could be evaluated; undecided "
                "= the weight of those whose margin lies inside the combined spread "
                "of the descriptors they compare (or that rest on one sample: "
                "highlighted; the reason names the spreads and what would decide "
                "it). Order: score (high first), then failed weight (low first), "
                f"then {', then '.join(cfg.order_by)} (lower value first; a "
                "criterion undecided in any row of a tie does not order it, and "
                "values within each other's spread are level; '2=': level with the "
                "row above, ordered by name only). A "
                "criterion that was not computed, or undecided, is never counted as "
                "passed or failed. "
                f"Thresholds: formation margin {cfg.formation_margin:g} eV/atom, "
                f"|mu_Li difference| >= {cfg.mu_li_min:g} eV."
            ),
            Table(
                [
                    "rank",
                    "accelerant",
                    "scheme",
                    "score / computed",
                    "undecided",
                    *keys,
                ],
                rows,
                caption="Ranking (calculator: "
                + ", ".join(sorted({r.calculator for r in ranked}))
                + ")",
                classes=classes,
            ),
            Table(
                ["accelerant", "criterion", "status", "reason"],
                reasons,
                caption="Reasons",
                classes=reason_cls,
            ),
            Table(
                ["criterion", "weight", "passes when", "columns", "unit"],
                weights,
                caption="Criteria and weights (configurable: RankingConfig)",
            ),
        ],
    )


def _comparison_section(data: ReportData) -> Section:
    blocks: list = []
    if not data.comparisons:
        blocks.append(
            Text(
                "Only one calculator: no two-model comparison. Run the same "
                "campaign definition under another name with a second MLIP (e.g. "
                "calculator: {model: SevenNet}) into the same store, and the "
                "report compares the two criterion by criterion."
            )
        )
    for other, comp in data.comparisons.items():
        n = len(comp.disagreements)
        blocks.append(
            Text(
                f"'{data.campaign}' ({comp.calculator_a}) vs '{other}' "
                f"({comp.calculator_b}): {n} disagreement(s) flagged."
            )
        )
        rows, classes = [], []
        for d in comp.rows:
            flag = {True: "agree", False: "DISAGREE", None: "-"}[d.agree]
            rows.append(
                [
                    f"{d.accelerant} {d.scheme}",
                    d.criterion,
                    f"{d.status_a} {d.value_a if d.value_a != '-' else ''}".strip(),
                    f"{d.status_b} {d.value_b if d.value_b != '-' else ''}".strip(),
                    flag,
                ]
            )
            classes.append(["", "", "", "", "flag" if d.agree is False else ""])
        blocks.append(
            Table(
                [
                    "accelerant",
                    "criterion",
                    comp.calculator_a,
                    comp.calculator_b,
                    "verdict",
                ],
                rows,
                classes=classes,
            )
        )
    return Section("comparison", "Two-model comparison", blocks)


def _descriptor_sections(data: ReportData) -> list[Section]:
    """Each descriptor's own section, in registry order."""
    return [
        d.section(data.results, data.extras.get(d.name))
        for d in descriptors.DESCRIPTORS
        if d.section is not None
    ]


def _provenance_section(data: ReportData) -> Section:
    calc = data.definition.get("calculator", {})
    facts = [
        ["campaign", data.campaign],
        ["store", data.location],
        ["calculator", json.dumps(calc, sort_keys=True)],
        ["doping", json.dumps(data.definition.get("doping", {}), sort_keys=True)],
        ["lpsflow", __version__],
        ["generated", _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")],
    ]
    jobs = [c for c in data.results.columns if c.startswith("job_")]
    blocks: list = [
        Table(["", ""], facts, caption="Campaign"),
        Table(
            ["accelerant", *jobs],
            [
                [f"{r['accelerant']} {r['scheme']}", *(str(r[j]) for j in jobs)]
                for _, r in data.results.iterrows()
            ],
            caption="Job ids behind each number (uuids in the store's jobs)",
        ),
    ]
    if data.failures:
        blocks.append(
            Table(
                ["job", "error"],
                [[u, m] for u, m in data.failures.items()],
                caption="Failed jobs",
            )
        )
    return Section("provenance", "Provenance", blocks)


def build(data: ReportData) -> tuple[str, list[Section]]:
    """Title and sections of the report."""
    df = data.results
    sections = [
        _descriptor_section(df),
        _ranking_section(data),
        _comparison_section(data),
        *_descriptor_sections(data),
        _provenance_section(data),
    ]
    return f"lpsflow report: campaign '{data.campaign}'", sections


def write(
    data: ReportData, path: Path, fmt: Literal["html", "md"] = "html"
) -> list[Path]:
    """Write the report; returns the files written (the page first)."""
    title, sections = build(data)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "html":
            path.write_text(to_html(title, sections))
            return [path]
        text, pngs = to_markdown(title, sections, path)
        path.write_text(text)
    except OSError as exc:
        raise LpsflowError(f"cannot write the report to {path}: {exc}") from exc
    return [path, *pngs]
