"""``lpsflow report``: what a campaign concludes, as one HTML page or Markdown.

:func:`collect` reads everything from the store (descriptors, ranking, the same
definition run with another calculator, failures); :func:`build` turns it into
sections; :func:`write` renders them. Every number shown comes from the store, except
the measured conductivities of the study's LPS series, which are quoted (and
labelled) from :data:`lpsflow.analysis.phase_model.SERIES`.

Descriptors that later issues add (interfaces/E_bind, mu_Li, NEB) plug in through
:data:`EXTRA_LOADERS`: a loader ``f(stores, manifest) -> DataFrame | None`` per
figure, with the columns documented in :mod:`lpsflow.plots`. Until one is
registered, or while it returns None, the report shows "not computed in this
campaign" in that place.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from lpsflow import __version__, plots
from lpsflow.analysis import ranking as rk
from lpsflow.errors import LpsflowError
from lpsflow.report_render import (
    Figure,
    Placeholder,
    Section,
    Table,
    Text,
    to_html,
    to_markdown,
)
from lpsflow.results import (
    NoResultsError,
    binding_points,
    campaign_names,
    failures,
    load,
    manifest,
    mu_li_points,
    neb_points,
)

if TYPE_CHECKING:
    from lpsflow.analysis.phase_model import PhaseEvolution
    from lpsflow.store import Stores

Loader = Callable[["Stores", dict[str, Any]], pd.DataFrame | None]

#: Loaders of the later descriptors, by figure: 'binding' (issue 4), 'mu_li' and
#: 'neb' (issue 5). Register one to make its figure appear.
EXTRA_LOADERS: dict[str, Loader] = {
    "binding": binding_points,
    "mu_li": mu_li_points,
    "neb": neb_points,
}

_EXTRAS = {
    "binding": (
        "E_bind versus number of Li7P3S11(010) layers, hetero vs homo",
        "needs the slab/interface binding-energy jobs of issue 4",
        plots.binding_vs_layers,
    ),
    "mu_li": (
        "mu_Li per phase (core vs Li7P3S11)",
        "needs the Li-vacancy formation energies of issue 5",
        plots.mu_li_per_phase,
    ),
    "neb": (
        "NEB energy profiles along the GB vs across the grain",
        "needs the grain boundaries and climbing-image NEB of issue 5",
        plots.neb_profiles,
    ),
}

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
    for key in _EXTRAS:
        loader = EXTRA_LOADERS.get(key)
        data.extras[key] = loader(stores, man) if loader else None
    return data


# --- sections --------------------------------------------------------------------


def _f(value: Any, fmt: str = "+.4f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, fmt)


def _s(value: Any) -> str:
    return _f(value, "") if isinstance(value, float) else str(value or "-")


def _descriptor_section(df: pd.DataFrame) -> Section:
    extra = [c for c in rk.FUTURE_COLUMNS if c in df.columns]
    headers = [
        "accelerant",
        "scheme",
        "core",
        "dE_core",
        "dE_Li7P3S11",
        "dE_Li4P2S6",
        "dE_Li3PS4",
        "core - Li7P3S11",
        "x_sol",
        *extra,
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
                _f(r[c])
                for c in (
                    "dE_core",
                    "dE_Li7P3S11",
                    "dE_Li4P2S6",
                    "dE_Li3PS4",
                    "dE_core_minus_Li7P3S11",
                )
            ),
            _s(r["solubility"]),
            *(_f(r[c]) for c in extra),
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
    keys = [c.key for c in rk.CRITERIA]
    rows, classes, reasons, reason_cls = [], [], [], []
    css = {"pass": "pass", "fail": "fail", "not computed": "nc"}
    for r in ranked:
        rows.append(
            [
                str(r.rank),
                r.accelerant,
                r.scheme,
                f"{r.score:g} / {r.computed:g} (of {r.total:g})",
                *(
                    c.status if c.display == "-" else f"{c.status} {c.display}"
                    for c in r.criteria
                ),
            ]
        )
        classes.append(["", "", "", "", *(css[c.status] for c in r.criteria)])
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
        for c in rk.CRITERIA
    ]
    return Section(
        "ranking",
        "Ranking of the accelerants",
        [
            Text(
                "Score = sum of the weights of the passed criteria; computed = sum "
                "of the weights of the criteria that could be evaluated. Order: "
                "score (high first), then failed weight (low first), then "
                "dE_core - dE_Li7P3S11 (more negative first). A criterion that was "
                "not computed is never counted as passed or failed. "
                f"Thresholds: formation margin {cfg.formation_margin:g} eV/atom, "
                f"|mu_Li difference| >= {cfg.mu_li_min:g} eV."
            ),
            Table(
                ["rank", "accelerant", "scheme", "score / computed", *keys],
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


def _reaction_section(df: pd.DataFrame) -> Section:
    cols = ["dE_core", "dE_Li7P3S11", "dE_Li4P2S6"]
    if not df[cols].notna().to_numpy().any():
        block: Any = Placeholder(
            "Reaction energies", "the reaction-energy jobs have not finished"
        )
    else:
        block = Figure(
            "reaction_energies",
            plots.reaction_energies(df),
            "Reaction energies per atom from the precursors: doped core "
            "Li(3-3x)M(x)PS4 vs Li7P3S11 vs Li4P2S6 + S (more negative = more "
            "strongly driven to form).",
        )
    return Section("reaction-energies", "Reaction energies per accelerant", [block])


def _solubility_section(df: pd.DataFrame) -> Section:
    rows = df[df["e_hull_meV_by_x"].map(lambda v: isinstance(v, dict) and bool(v))]
    if rows.empty:
        return Section(
            "solubility",
            "Energy above hull versus x",
            [
                Placeholder(
                    "Energy above hull vs x",
                    "doping.solubility_x is empty or the solubility jobs have not "
                    "finished",
                )
            ],
        )
    xs = sorted({k for d in rows["e_hull_meV_by_x"] for k in d}, key=rk.x_of)
    table = Table(
        ["accelerant", *(f"x = {x}" for x in xs), "threshold", "x_sol"],
        [
            [
                f"{r['accelerant']} {r['scheme']}",
                *(_f(r["e_hull_meV_by_x"].get(x), "+.1f") for x in xs),
                _f(r["hull_threshold_meV"], "g"),
                str(r["solubility"]),
            ]
            for _, r in rows.iterrows()
        ],
        caption="Energy above the hull of the undoped phases (meV/atom; negative: "
        "stable against them).",
    )
    fig = Figure(
        "hull_vs_x",
        plots.hull_vs_x(rows),
        "Energy above hull versus dopant content x; dashed: stability threshold; "
        "dotted: solubility limit.",
    )
    return Section("solubility", "Energy above hull versus x", [fig, table])


def phase_source(df: pd.DataFrame) -> tuple[str, str, float | None, str]:
    """Accelerant (Al2S3, else the first), scheme, solubility x and its label."""
    accs = list(dict.fromkeys(df["accelerant"]))
    acc = "Al2S3" if "Al2S3" in accs else accs[0]
    rows = df[df["accelerant"] == acc]
    with_x = rows[rows["x_solubility"].notna()]
    pick = with_x if not with_x.empty else rows
    pick = pick.sort_values("preferred", ascending=False)
    r = pick.iloc[0]
    x = None if pd.isna(r["x_solubility"]) else float(r["x_solubility"])
    label = r["solubility"] if isinstance(r["solubility"], str) else "not computed"
    return acc, str(r["scheme"]), x, label


def _phase_section(df: pd.DataFrame) -> Section:
    from lpsflow.analysis.phase_model import SERIES, series

    acc, scheme, x, label = phase_source(df)
    title = "Phase model of the LPS series"
    if x is None:
        why = (
            f"the {acc} solubility is {label}: no x from this campaign to feed the "
            "model (add smaller x to doping.solubility_x)"
        )
        return Section("phase-model", title, [Placeholder("Phase-model table", why)])
    evos: list[PhaseEvolution] = series(acc, x, scheme=scheme)
    note = " (a lower bound: the largest x computed)" if label.startswith(">=") else ""
    sigma_of = {s.name: s.conductivity for s in SERIES}
    main = ("Li3PS4", "Li7P3S11", "Li4P2S6")
    rows = [
        [
            e.sample,
            _f(sigma_of.get(e.sample), "g"),
            _f(e.accelerant_moles, ".3f"),
            _f(e.core_moles, ".2f"),
            _f(100 * e.wt("core"), ".1f"),
            *(_f(100 * e.wt(p), ".1f") for p in main),
            _f(100 * e.wt(acc), ".1f"),
            _f(100 * e.wt("core", "crystalline"), ".1f"),
            _f(e.residual_ps, ".4f"),
            " -> ".join(e.sequence),
        ]
        for e in evos
    ]
    headers = [
        "sample",
        "measured sigma (mS/cm, study)",
        f"{acc} mol",
        "core mol",
        "core wt%",
        *(f"{p} wt%" for p in main),
        f"{acc} left wt%",
        "core wt% cryst.",
        "residual P/S",
        "sequence",
    ]
    measured_for = "" if acc == "Al2S3" else " (measured with Al2S3, not " + acc + ")"
    return Section(
        "phase-model",
        title,
        [
            Text(
                f"{acc} accelerant, core {evos[0].core} ({scheme}); solubility x = "
                f"{x:g} from this campaign{note}. Mass balance and the study's "
                "sequential rule (core first, residual Li2S + P2S5 split on the "
                "observed Li3PS4 -> Li7P3S11 -> Li4P2S6 tie line). The conductivity "
                "column is quoted from the study (room temperature, cold-pressed, "
                f"Al2S3 samples){measured_for}; it is not computed."
            ),
            Table(headers, rows, caption="wt% of the whole sample unless noted"),
            Figure(
                "phase_model",
                plots.phase_series(evos),
                "Model weight fractions along the series (bars) and the study's "
                "measured conductivities (triangles, log scale).",
            ),
        ],
    )


def _extra_sections(data: ReportData) -> list[Section]:
    ids = {"binding": "binding", "mu_li": "mu-li", "neb": "neb"}
    out = []
    for key, (what, why, plot) in _EXTRAS.items():
        frame = data.extras.get(key)
        block: Any = (
            Figure(key, plot(frame), what)
            if frame is not None and not frame.empty
            else Placeholder(what, why)
        )
        out.append(Section(ids[key], what, [block]))
    return out


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
        _reaction_section(df),
        _solubility_section(df),
        _phase_section(df),
        *_extra_sections(data),
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
