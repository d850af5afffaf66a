"""``lpsflow run``: a campaign run locally, resumed from its store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lpsflow.cli.application import Terminated, app, echo, stop_on_sigterm
from lpsflow.cli.common import (
    CampaignArg,
)


@app.command()
def run(
    campaign: CampaignArg,
    workdir: Annotated[
        Path | None, typer.Option(help="Job directories (default: the campaign's).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Processes running independent jobs side by side (default: one per "
            "core for the MLIP, at most 4 on a CPU and 8 sharing a GPU; 1 for VASP).",
        ),
    ] = None,
    perturb_seed: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Start every MLIP relaxation 1e-4 A off its structure, in directions "
            "drawn from this seed (calculator.perturb_seed): a run to see which "
            "verdicts move with round-off. New job ids: use another store.",
        ),
    ] = None,
) -> None:
    """Run a campaign locally; finished calculations in the store are reused."""
    from lpsflow.campaign import load_campaign
    from lpsflow.dispatch.processes import auto_workers, start_server

    stop_on_sigterm()
    camp = load_campaign(campaign)
    if perturb_seed is not None:
        camp = camp.with_perturb_seed(perturb_seed)
    camp.calculator.check_device()  # before any store or worker is made
    workers = workers or auto_workers(camp.calculator)
    if workers > 1:  # the workers' imports go on while this process imports
        start_server()

    from lpsflow.dispatch.local import run_campaign
    from lpsflow.flows.campaign import build_campaign
    from lpsflow.store import open_stores

    cflow = build_campaign(camp)  # every input is checked before the store is opened
    try:
        with open_stores(camp.store, camp.base_dir) as stores:
            report = run_campaign(
                camp, stores, workdir=workdir, echo=echo, cflow=cflow, workers=workers
            )
    except Terminated:
        echo("terminated (SIGTERM)")
        raise typer.Exit(143) from None
    echo(
        f"finished in {report.wall_s:.1f} s: {len(report.completed)} computed, "
        f"{report.reused} reused, "
        + (
            f"{len(report.same)} copied from the same calculation stored under "
            "another job, "
            if report.same
            else ""
        )
        + (
            f"{len(report.elsewhere)} computed by other runners, "
            if report.elsewhere
            else ""
        )
        + f"{len(report.failed)} failed, {len(report.skipped)} skipped"
        + (
            f"; jobs took {sum(report.job_s.values()):.0f} s "
            f"({sum(report.job_cpu_s.values()):.0f} CPU-s)"
            if report.completed
            else ""
        )
        + (
            f"; {report.force_calls} MLIP force calls, "
            f"{report.calculator_s:.0f} s inside the calculator"
            if report.force_calls
            else ""
        )
    )
    if not report.ok:
        echo("some jobs failed; fix the cause and run again to finish the rest")
        raise typer.Exit(1)
    echo(f"see the descriptors with: lpsflow results {campaign}")
