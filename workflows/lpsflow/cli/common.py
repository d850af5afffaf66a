"""What the commands share: argument types, reading a campaign and its store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lpsflow.cli.application import echo

if TYPE_CHECKING:
    from lpsflow.campaign import Campaign
    from lpsflow.store import Stores

CampaignArg = Annotated[Path, typer.Argument(help="Campaign YAML file.")]

LaunchpadOpt = Annotated[
    Path,
    typer.Option(
        "--launchpad",
        "-l",
        help="FireWorks my_launchpad.yaml (default: $LPSFLOW_LAUNCHPAD).",
        envvar="LPSFLOW_LAUNCHPAD",
    ),
]

StoreOpt = Annotated[
    Path | None, typer.Option(help="Embedded store directory (with a campaign name).")
]

CampaignOrName = Annotated[str, typer.Argument(help="Campaign YAML file or name.")]


@contextmanager
def reading(
    campaign: str | Path | None, store: Path | None
) -> Iterator[tuple[Campaign | None, Stores]]:
    """The campaign (None unless a YAML file) and its stores, open for reading.

    The stores are closed when the block ends; none is created: an absent one is
    an error. ``store`` (an embedded store's folder) overrides the campaign's
    store; without either, ``lpsflow-store`` in the working directory is read.
    """
    from lpsflow.campaign import StoreSettings, load_campaign
    from lpsflow.store import open_stores

    camp = None
    if campaign is not None and Path(campaign).suffix in {".yaml", ".yml"}:
        camp = load_campaign(Path(campaign))
        settings, base = camp.store, camp.base_dir
        if store is not None:
            settings = StoreSettings(type="embedded", path=str(store.resolve()))
    else:
        settings = StoreSettings(type="embedded", path=str(store or "lpsflow-store"))
        base = Path.cwd()
    with open_stores(settings, base, create=False) as stores:
        yield camp, stores


def campaign_file(campaign: str) -> Campaign | None:
    """The campaign if ``campaign`` is a YAML file, else None (a campaign name)."""
    if campaign.endswith((".yaml", ".yml")):
        from lpsflow.campaign import load_campaign

        return load_campaign(campaign)
    return None


def campaign_name(campaign: str) -> str:
    """The campaign's name: from its file, or ``campaign`` itself."""
    camp = campaign_file(campaign)
    return camp.name if camp else campaign


def note_device(camp: Campaign) -> None:
    """Say (not fail) when this machine cannot use the campaign's device.

    ``validate`` and ``submit`` run where the jobs may not (a login node without
    the GPU its FireWorks workers have); ``run`` fails on it instead.
    """
    from lpsflow.errors import ConfigError

    try:
        camp.calculator.check_device()
    except ConfigError as exc:
        echo(f"note: {exc} (fine if the jobs run on nodes that have it)")
