"""Adaptive sampling in the results table, ``lpsflow results`` and the report.

Registered as a descriptor without jobs of its own (its rounds are added by the
campaign build): columns ``rounds``, ``sampling`` (why the rounds stopped, or
what the last one added), ``sampled_settings`` and ``sampling_history`` (what
each round raised and why), per accelerant; a table of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lpsflow.descriptors.base import Descriptor, RowContext, has_value
from lpsflow.report_render import Section, Table, Text

if TYPE_CHECKING:
    import pandas as pd

TITLE = "Adaptive sampling: rounds per accelerant (sampling: {mode: adaptive})"
NOTE = (
    "Each round evaluates the criteria on the accelerant's samples so far and, for "
    "each undecided one, raises the settings that sample it by one (docs/sampling.md)."
)


def _settings(values: dict[str, int]) -> str:
    return ", ".join(f"{k.replace(':', '.')} {v}" for k, v in values.items())


def _round_text(decision: dict[str, Any]) -> str:
    raised = decision.get("raised") or {}
    head = f"round {decision.get('round')}: "
    if decision.get("stop"):
        why = "; ".join(decision.get("why") or [])
        return head + f"stopped: {decision['stop']}" + (f" ({why})" if why else "")
    before = decision.get("settings") or {}
    moves = [f"{k.replace(':', '.')} {before.get(k)} -> {v}" for k, v in raised.items()]
    undecided = ", ".join(decision.get("undecided") or [])
    return head + f"{undecided} undecided; " + "; ".join(moves)


def columns(ctx: RowContext) -> dict[str, Any]:
    """The accelerant's rounds (nothing where the campaign samples fixed)."""
    chain = sorted(
        (r.index or 0, u)
        for r, u in ctx.jobs.items()
        if r.step == "round" and r.label == ctx.accelerant
    )
    if not chain:
        return {}
    done = [ctx.outputs[u] for _, u in chain if u in ctx.outputs]
    if not done:
        return {"rounds": 0, "sampling": "round 1 pending", "sampled_settings": "",
                "sampling_history": ""}  # fmt: skip
    last = done[-1]
    state = last.get("stop") or f"round {last.get('round', 0) + 1} under way"
    return {
        "rounds": len(done),
        "sampling": state,
        "sampled_settings": _settings(last.get("settings") or {}),
        "sampling_history": " | ".join(_round_text(d) for d in done),
    }


def _table(df: pd.DataFrame) -> Table:
    rows = []
    seen = set()
    for _, r in df.iterrows():
        if r["accelerant"] in seen or not has_value(r.get("rounds")):
            continue
        seen.add(r["accelerant"])
        rows.append(
            [
                str(r["accelerant"]),
                str(int(r["rounds"])),
                str(r.get("sampled_settings") or "-"),
                str(r.get("sampling") or ""),
            ]
        )
    return Table(["accelerant", "rounds", "last round's settings", "state"], rows)


def _history(df: pd.DataFrame) -> list[Text]:
    out, seen = [], set()
    for _, r in df.iterrows():
        if r["accelerant"] in seen or not r.get("sampling_history"):
            continue
        seen.add(r["accelerant"])
        out.append(Text(f"{r['accelerant']}: {r['sampling_history']}"))
    return out


def _sampled(df: pd.DataFrame) -> bool:
    return "rounds" in df and df["rounds"].map(has_value).any()


def summary(df: pd.DataFrame) -> Section | None:
    """The rounds per accelerant (nothing where sampling is fixed)."""
    if not _sampled(df):
        return None
    return Section("sampling", TITLE, [_table(df), *_history(df), Text(NOTE)])


def section(df: pd.DataFrame, points: pd.DataFrame | None = None) -> Section:
    """The report section: rounds, what each raised and why the rounds stopped."""
    if not _sampled(df):
        fixed = (
            "sampling.mode is fixed: each descriptor took its settings' samples, once."
        )
        return Section("sampling", TITLE, [Text(fixed)])
    return Section("sampling", TITLE, [_table(df), *_history(df), Text(NOTE)])


DESCRIPTOR = Descriptor(
    name="sampling",
    title="Adaptive sampling rounds",
    doc="docs/sampling.md",
    columns=columns,
    summary=summary,
    section=section,
)
