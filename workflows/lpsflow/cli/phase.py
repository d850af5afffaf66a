"""``lpsflow phase``: the phase-evolution model on the command line."""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from lpsflow.cli.application import app
from lpsflow.errors import LpsflowError


class PhaseFormat(StrEnum):
    """Output formats of ``lpsflow phase``."""

    table = "table"
    csv = "csv"
    json = "json"


class PhaseBasis(StrEnum):
    """What a measured core weight fraction is a fraction of."""

    crystalline = "crystalline"
    sample = "sample"


class ResidualSplit(StrEnum):
    """How the residual Li2S + P2S5 is split into phases."""

    hull = "hull"
    rule = "rule"


def _note_metastable(diagram) -> None:
    """Say which observed phases the campaign's hull calls metastable."""
    for entry in diagram.all_entries:
        if entry.name in ("Li7P3S11", "Li4P2S6"):
            e = 1000 * diagram.get_e_above_hull(entry)
            if e > 1e-6:
                typer.echo(
                    f"note: {entry.name} is {e:.1f} meV/atom above this campaign's "
                    "hull, so the hull split leaves it out; --residual rule gives "
                    "the observed crystallisation sequence",
                    err=True,
                )


def _campaign_solubility(path: Path, accelerant: str, scheme: str):
    """Solubility limit of ``accelerant`` and the Li-P-S phase diagram of a campaign."""
    from lpsflow.campaign import load_campaign
    from lpsflow.results import lips_phase_diagram, load
    from lpsflow.store import open_stores
    from lpsflow.structures.accelerant import parse_accelerant

    camp = load_campaign(path)
    formula = parse_accelerant(accelerant).formula
    with open_stores(camp.store, camp.base_dir, create=False) as stores:
        df = load(camp.name, stores)
        diagram = lips_phase_diagram(camp.name, stores)
    row = df[(df["accelerant"] == formula) & (df["scheme"] == scheme)]
    if row.empty:
        raise LpsflowError(
            f"campaign '{camp.name}' has no {formula} {scheme} core "
            f"(it screened: {', '.join(sorted(set(df['accelerant'])))})"
        )
    x, label = row["x_solubility"].iloc[0], row["solubility"].iloc[0]
    if label is None:
        raise LpsflowError(
            f"campaign '{camp.name}' has no solubility result for {formula} {scheme} "
            "yet (run it to completion, or give --solubility)"
        )
    if x is None or x != x:  # a hull-threshold limit of an older store: below x_min
        raise LpsflowError(
            f"campaign '{camp.name}': the {formula} solubility is {label}, below the "
            "smallest x it computed; give --solubility"
        )
    note = " (a lower bound: the largest x computed)" if label.startswith(">=") else ""
    typer.echo(
        f"solubility x = {x:g} of {formula} ({scheme}) from campaign "
        f"'{camp.name}'{note}",
        err=True,
    )
    return float(x), diagram


@app.command()
def phase(
    accelerant: Annotated[
        str, typer.Option("--accelerant", "-a", help="Accelerant MxSy, e.g. Al2S3.")
    ],
    sample: Annotated[
        str | None,
        typer.Argument(help="Sample, e.g. LPS7228 (Li2S:P2S5 = 72:28); or --series."),
    ] = None,
    solubility: Annotated[
        float | None,
        typer.Option(help="Solubility limit x of M in the core (e.g. 0.06 for Al)."),
    ] = None,
    core_wt: Annotated[
        float | None,
        typer.Option(
            "--core-wt", help="Measured core weight fraction (0-1): inverse model."
        ),
    ] = None,
    basis: Annotated[
        PhaseBasis,
        typer.Option(
            help="--core-wt is a fraction of the sample less unreacted accelerant "
            "(crystalline) or of the whole sample."
        ),
    ] = PhaseBasis.crystalline,
    scheme: Annotated[
        str,
        typer.Option(
            help="Charge compensation of the core: Li-site, empty-site or P-site."
        ),
    ] = "Li-site",
    all_samples: Annotated[
        bool, typer.Option("--series", help="The whole LPS series in one table.")
    ] = False,
    fmt: Annotated[PhaseFormat, typer.Option("--format", "-f")] = PhaseFormat.table,
    campaign: Annotated[
        Path | None,
        typer.Option(
            help="Take the solubility limit from this finished campaign (YAML file)."
        ),
    ] = None,
    residual: Annotated[
        ResidualSplit,
        typer.Option(
            help="How the Li2S + P2S5 left after the core splits: 'hull' (the "
            "campaign's computed Li-P-S convex hull; needs --campaign) or 'rule' "
            "(the observed Li3PS4 -> Li7P3S11 -> Li4P2S6 tie-line sequence)."
        ),
    ] = None,
) -> None:
    """Phases that crystallise from an LPS glass with an accelerant (core first)."""
    from lpsflow.analysis import phase_model as pm

    energies = None
    if campaign is not None:
        x_campaign, energies = _campaign_solubility(campaign, accelerant, scheme)
        solubility = solubility if solubility is not None else x_campaign
        if residual is ResidualSplit.rule:
            energies = None
        else:
            _note_metastable(energies)
    elif residual is ResidualSplit.hull:
        raise LpsflowError("--residual hull needs --campaign (its computed energies)")
    if solubility is None:
        raise LpsflowError(
            "give the solubility limit with --solubility X (x of M per PS4 in the "
            "core, e.g. 0.06 for Al) or --campaign CAMPAIGN.yaml"
        )
    if all_samples:
        if sample is not None or core_wt is not None:
            raise LpsflowError("--series takes no sample and no --core-wt")
        rows = pm.series(accelerant, solubility, scheme=scheme, energies=energies)
        typer.echo(_render_series(rows, fmt))
        return
    if sample is None:
        raise LpsflowError("give a sample name (e.g. LPS7228) or --series")
    if core_wt is not None:
        inv = pm.invert(
            sample,
            accelerant,
            core_wt,
            solubility,
            scheme=scheme,
            basis=basis.value,
            energies=energies,
        )
        typer.echo(_render_inverse(inv, fmt))
        return
    evolution = pm.evolve(sample, accelerant, solubility, scheme, energies=energies)
    typer.echo(_render_one(evolution, fmt))


# --- rendering -------------------------------------------------------------------


def _grid(headers: list[str], rows: list[list[str]]) -> str:
    """Aligned text table: first column left, the rest right."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        out = [cells[0].ljust(widths[0])]
        out += [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


def _csv(records: list[dict[str, object]]) -> str:
    keys: list[str] = []
    for rec in records:
        keys += [k for k in rec if k not in keys]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buf.getvalue().rstrip("\n")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def _ps(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _phase_table(evo) -> str:
    rows = []
    for p in evo.phases:
        name = p.name + (" (unreacted)" if p.stage is None else "")
        stage = "-" if p.stage is None else str(p.stage)
        rows.append(
            [
                name,
                stage,
                f"{p.moles:.3f}",
                _pct(p.wt_fraction),
                _pct(p.wt_fraction_crystalline),
            ]
        )
    return _grid(["phase", "stage", "mol", "wt% sample", "wt% cryst."], rows)


def _facts(evo) -> list[str]:
    used = evo.accelerant_moles - evo.unreacted_accelerant_moles
    share = used / evo.accelerant_moles if evo.accelerant_moles > 0 else 0.0
    lines = [
        f"sequence:             {' -> '.join(evo.sequence)}",
        f"core stopped:         {evo.core_stop}",
        f"residual after core:  {evo.residual_li2s:.3f} Li2S + "
        f"{evo.residual_p2s5:.3f} P2S5 mol, P/S = {_ps(evo.residual_ps)}",
        f"{'unreacted ' + evo.accelerant + ':':<22}"
        f"{evo.unreacted_accelerant_moles:.3f} mol "
        f"({100 * (1 - share):.1f}% of the accelerant)",
    ]
    if evo.measured_conductivity is not None:
        lines.append(
            f"measured sigma:       {evo.measured_conductivity:g} mS/cm "
            "(this LPS sample with Al2S3)"
        )
    lines += [
        f"mass balance:         max element imbalance {evo.max_imbalance():.1e} mol",
        "mol per 100 mol Li2S + P2S5; wt% cryst. = of the sample less the "
        "unreacted accelerant",
    ]
    return lines


def _header(evo) -> str:
    return (
        f"{evo.sample} + {evo.accelerant}: {evo.li2s:g} Li2S + {evo.p2s5:g} P2S5 + "
        f"{evo.accelerant_moles:.4g} {evo.accelerant} mol (overall P/S = 0.25); "
        f"core {evo.core} ({evo.scheme}, x = {evo.solubility:g}); "
        f"residual split by {evo.decomposition}"
    )


def _render_one(evo, fmt: PhaseFormat) -> str:
    if fmt is PhaseFormat.json:
        return evo.model_dump_json(indent=2)
    if fmt is PhaseFormat.csv:
        return _csv([_phase_record(evo, p) for p in evo.phases])
    return "\n".join([_header(evo), "", _phase_table(evo), "", *_facts(evo)])


def _phase_record(evo, p) -> dict[str, object]:
    return {
        "sample": evo.sample,
        "phase": p.name,
        "role": p.role,
        "stage": p.stage,
        "moles": p.moles,
        "wt_fraction": p.wt_fraction,
        "wt_fraction_crystalline": p.wt_fraction_crystalline,
        "residual_ps": evo.residual_ps,
    }


def _render_inverse(inv, fmt: PhaseFormat) -> str:
    if fmt is PhaseFormat.json:
        return inv.model_dump_json(indent=2)
    summary = {k: v for k, v in inv.model_dump().items() if k != "evolution"} | {
        "max_imbalance": inv.max_imbalance()
    }
    if fmt is PhaseFormat.csv:
        return _csv([summary])
    evo = inv.evolution
    lines = [
        _header(evo),
        f"measured core:        {100 * inv.core_wt_fraction:.2f} wt% ({inv.basis})",
        f"core formed:          {inv.core_moles:.3f} mol per 100 mol Li2S + P2S5 "
        f"(at most {inv.max_core_moles:.3f})",
        f"residual after core:  {inv.residual_li2s:.3f} Li2S + "
        f"{inv.residual_p2s5:.3f} P2S5 mol, P/S = {_ps(inv.residual_ps)}",
        f"sequential rule:      {inv.rule_core_moles:.3f} mol core, "
        f"{100 * inv.rule_core_wt_fraction:.2f} wt% ({inv.basis})",
        "",
        "phases with the measured amount of core:",
        _phase_table(evo),
        "",
        f"mass balance:         max element imbalance {inv.max_imbalance():.1e} mol",
    ]
    return "\n".join(lines)


_MAIN = ("Li3PS4", "Li7P3S11", "Li4P2S6")


def _render_series(rows, fmt: PhaseFormat) -> str:
    from lpsflow.analysis import lps_series as lps

    if fmt is PhaseFormat.json:
        return json.dumps([r.model_dump() for r in rows], indent=2)
    if fmt is PhaseFormat.csv:
        return _csv([r.row() for r in rows])
    acc = rows[0].accelerant
    body = []
    for r in rows:
        other = sum(
            p.wt_fraction
            for p in r.phases
            if p.role == "residual" and p.name not in _MAIN
        )
        sigma = r.measured_conductivity
        body.append(
            [
                r.sample,
                "-" if sigma is None else f"{sigma:g}",
                f"{r.accelerant_moles:.3f}",
                f"{r.core_moles:.2f}",
                _pct(r.wt("core")),
                *(_pct(r.wt(name)) for name in _MAIN),
                _pct(other),
                _pct(r.wt(acc)),
                _pct(r.wt("core", "crystalline")),
                _ps(r.residual_ps),
                " -> ".join(r.sequence),
            ]
        )
    headers = [
        "sample",
        "sigma mS/cm",
        f"{acc} mol",
        "core mol",
        "core",
        *_MAIN,
        "S+P2S5",
        f"{acc} left",
        "core/cryst.",
        "resid. P/S",
        "sequence",
    ]
    first = rows[0]
    return "\n".join(
        [
            f"{acc} accelerant, core {first.core} ({first.scheme}, x = "
            f"{first.solubility:g}); wt% of the whole sample unless noted",
            "",
            _grid(headers, body),
            "",
            "core/cryst. = core wt% of the sample less unreacted accelerant (the "
            "XRD basis; LPS7228 + Al2S3 measured "
            f"{100 * lps.MEASURED_LPS7228['core']:.1f})",
            "sigma = measured conductivity of the LPS sample with Al2S3 (the study)",
            "resid. P/S = P/S of the Li2S + P2S5 left after the core forms",
            f"max element imbalance over the series: "
            f"{max(r.max_imbalance() for r in rows):.1e} mol",
        ]
    )
