"""``lpsflow validate``: a campaign file checked, its jobs listed."""

from __future__ import annotations

from lpsflow.cli.application import app, echo
from lpsflow.cli.common import (
    CampaignArg,
    note_device,
)
from lpsflow.errors import LpsflowError


@app.command()
def validate(campaign: CampaignArg) -> None:
    """Check a campaign file and show what it would compute."""
    from lpsflow.campaign import load_campaign
    from lpsflow.flows.campaign import build_campaign

    camp = load_campaign(campaign)
    cflow = build_campaign(camp)
    n = len(cflow.jobs)
    done, where = _in_store(camp, cflow)
    echo(
        f"campaign '{camp.name}' is valid: {n} jobs"
        + (
            f"; {len(done)} already in its store ({where}), {n - len(done)} to "
            "compute" + (" (marked +)" if len(done) < n else "")
            if done is not None
            else f" ({where})"
        )
    )
    note_device(camp)
    for kind, m in cflow.matches.items():
        echo(f"  {kind} (starting structures): {m.describe()}")
    for role, uuid in cflow.roles.items():
        mark = "" if done is None else "  " if uuid in done else "+ "
        echo(f"  {mark}{role}")


def _in_store(camp, cflow) -> tuple[set[str] | None, str]:
    """The jobs with an output in the campaign's store, and where that is.

    A job counts under today's id or under an earlier one (adopted before a run).

    ``None`` (and why) where the store does not exist yet or cannot be reached:
    checking a campaign file needs no store, and creates none.
    """
    from lpsflow.dispatch.adopt import legacy_to_adopt
    from lpsflow.dispatch.sharing import finished_uuids
    from lpsflow.store import open_stores

    if camp.store.type == "embedded":
        path = camp.resolve(camp.store.path)  # where open_stores would create it
        if not path.exists():
            return None, f"no store at {path} yet: every job to compute"
    try:
        stores = open_stores(camp.store, camp.base_dir, create=False)
    except LpsflowError as exc:
        return None, f"{exc}: cannot say what is already computed"
    with stores:
        uuids = list(cflow.roles.values())
        done = finished_uuids(stores, uuids) | set(legacy_to_adopt(stores, cflow))
        return done, stores.location
