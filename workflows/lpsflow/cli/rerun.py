"""``lpsflow rerun``: a cluster campaign's failed or lost jobs again."""

from __future__ import annotations

from typing import Annotated

import typer

from lpsflow.cli.application import app, echo
from lpsflow.cli.common import (
    LaunchpadOpt,
    campaign_name,
)
from lpsflow.errors import LpsflowError


@app.command()
def rerun(
    campaign: Annotated[str, typer.Argument(help="Campaign name or YAML file.")],
    launchpad: LaunchpadOpt,
    failed: Annotated[
        bool, typer.Option("--failed", help="Rerun FIZZLED jobs.")
    ] = False,
    lost: Annotated[
        bool, typer.Option("--lost", help="Requeue runs that stopped reporting.")
    ] = False,
    kind: Annotated[
        str | None, typer.Option(help="Only jobs of this kind (relax, screen, ...).")
    ] = None,
    error: Annotated[
        str | None, typer.Option(help="Only failures whose error matches this regex.")
    ] = None,
    expiration_hours: Annotated[
        float,
        typer.Option(help="A running job silent for this long is lost (--lost)."),
    ] = 4.0,
) -> None:
    """Rerun a cluster campaign's failed (--failed) or lost (--lost) jobs."""
    from lpsflow.dispatch.fireworks import load_launchpad, rerun_failed, rerun_lost

    if not (failed or lost):
        raise LpsflowError("say what to rerun: --failed and/or --lost")
    if error:
        import re

        try:
            re.compile(error)
        except re.error as exc:
            raise LpsflowError(
                f"--error is not a valid regular expression: {exc}"
            ) from exc
    name = campaign_name(campaign)
    lp = load_launchpad(launchpad)
    if lost:
        ids = rerun_lost(lp, name, expiration_hours * 3600)
        echo(f"requeued {len(ids)} lost job(s)" + (f": fw_ids {ids}" if ids else ""))
    if failed:
        ids = rerun_failed(lp, name, kind=kind, error=error)
        echo(f"rerunning {len(ids)} failed job(s)" + (f": fw_ids {ids}" if ids else ""))
