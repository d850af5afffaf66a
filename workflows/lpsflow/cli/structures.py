"""``lpsflow structures``: a campaign's relaxed structures written out."""

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


class StructureKind(StrEnum):
    """Kinds of structures ``lpsflow structures`` writes."""

    bulk = "bulk"
    core = "core"
    interface = "interface"
    gb = "gb"
    neb = "neb"


class StructureFormat(StrEnum):
    """File formats of ``lpsflow structures``."""

    cif = "cif"
    poscar = "poscar"


@app.command()
def structures(
    campaign: CampaignOrName,
    kind: Annotated[StructureKind, typer.Option("--kind", "-k")] = StructureKind.bulk,
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory.")] = Path(
        "structures"
    ),
    fmt: Annotated[
        StructureFormat, typer.Option("--format", "-f")
    ] = StructureFormat.cif,
    store: StoreOpt = None,
) -> None:
    """Write the relaxed structures of a campaign (CIF or POSCAR) and index.json."""
    from lpsflow.export import export
    from lpsflow.report import require_campaign

    with reading(campaign, store) as (camp, stores):
        name = camp.name if camp else campaign
        require_campaign(stores, name)
        result = export(stores, name, kind.value, output, fmt.value)
    for w in result.written:
        flag = "" if w.converged else "  (NOT converged)"
        echo(f"wrote {w.path}  {w.formula}  {w.energy_per_atom:.4f} eV/atom{flag}")
    for role, why in result.missing.items():
        echo(f"skipped {role}: {why}")
