"""``lpsflow report``: an HTML or Markdown report of a campaign."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from lpsflow.cli.application import app, echo
from lpsflow.cli.common import (
    CampaignOrName,
    StoreOpt,
    reading,
)


class ReportFormat(StrEnum):
    """Formats of ``lpsflow report``."""

    html = "html"
    md = "md"


@app.command()
def report(
    campaign: CampaignOrName,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File (default: <campaign>-report.<fmt>)."),
    ] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f")] = ReportFormat.html,
    compare: Annotated[
        list[str] | None,
        typer.Option(
            help="Campaign (same store) to compare with, e.g. the SevenNet run "
            "(default: every campaign with the same definition and another "
            "calculator)."
        ),
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Write a report: descriptors, ranking with reasons, plots (HTML or Markdown)."""
    from lpsflow import report as rep

    with reading(campaign, store) as (camp, stores):
        name = camp.name if camp else campaign
        data = rep.collect(name, stores, compare=compare)
    path = output or Path(f"{name}-report.{fmt.value}")
    files = rep.write(data, path, fmt.value)
    echo(f"wrote {path}" + (f" and {len(files) - 1} PNG(s)" if len(files) > 1 else ""))
