"""``lpsflow results``: a campaign's descriptor table, and its summaries."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from lpsflow.cli.application import app, echo
from lpsflow.cli.common import reading


class Format(StrEnum):
    """Output formats of tables."""

    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def results(
    campaign: Annotated[
        str | None,
        typer.Argument(help="Campaign YAML file or campaign name (default: list all)."),
    ] = None,
    store: Annotated[
        Path | None, typer.Option(help="Embedded store directory.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    accelerant: Annotated[
        list[str] | None,
        typer.Option("--accelerant", "-a", help="Only this accelerant (repeatable)."),
    ] = None,
    descriptor: Annotated[
        list[str] | None,
        typer.Option(
            "--descriptor", "-d", help="Only this descriptor column (repeatable)."
        ),
    ] = None,
) -> None:
    """Show a campaign's descriptor table and a summary of each descriptor."""
    from lpsflow import results as res

    with reading(campaign, store) as (camp, stores):
        if campaign is None:
            names = res.campaign_names(stores)
            if not names:
                raise res.NoResultsError(f"no campaigns in {stores.location}")
            echo("\n".join(names))
            return
        name = camp.name if camp else campaign
        df = res.load(name, stores)
        fails = res.failures(stores, name)
    from lpsflow import query

    df = query.select(df, name, accelerant, descriptor)
    text = query.to_text(df) if descriptor and fmt is Format.table else render(df, fmt)
    if output:
        output.write_text(text)
        echo(f"wrote {output}")
    else:
        typer.echo(text)
    if fmt is Format.table and fails:
        echo(f"{len(fails)} failed job(s):")
        for uuid, msg in fails.items():
            echo(f"  {uuid[:8]}  {msg}")


def render(df, fmt: Format) -> str:
    """The table as CSV or JSON, or as each descriptor's summary lines."""
    if fmt is Format.csv:
        return df.to_csv(index=False)
    if fmt is Format.json:
        return json.dumps(json.loads(df.to_json(orient="records")), indent=2)
    from lpsflow import descriptors
    from lpsflow.report_render import to_text

    parts = [d.summary(df) for d in descriptors.DESCRIPTORS if d.summary]
    return to_text([p for p in parts if p is not None]).lstrip("\n")
