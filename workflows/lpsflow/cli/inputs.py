"""``lpsflow inputs``: the VASP inputs each calculation of a campaign gets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lpsflow.cli.application import app, echo
from lpsflow.cli.common import (
    CampaignArg,
)


@app.command()
def inputs(
    campaign: CampaignArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory.")] = Path(
        "vasp-inputs"
    ),
) -> None:
    """Write VASP inputs (INCAR, KPOINTS, POSCAR, POTCAR.spec) for every relaxation."""
    from lpsflow.campaign import load_campaign
    from lpsflow.flows.inputs import export_vasp_inputs

    for path in export_vasp_inputs(load_campaign(campaign), output):
        echo(f"wrote {path}")
