"""``lpsflow submit``: a campaign added to a FireWorks LaunchPad."""

from __future__ import annotations

from collections import Counter

from lpsflow.cli.application import app, echo
from lpsflow.cli.common import (
    CampaignArg,
    LaunchpadOpt,
    note_device,
)


@app.command()
def submit(campaign: CampaignArg, launchpad: LaunchpadOpt) -> None:
    """Submit a campaign to a FireWorks LaunchPad (adds only what is missing)."""
    from lpsflow.campaign import load_campaign
    from lpsflow.dispatch.fireworks import load_launchpad, submit_campaign
    from lpsflow.flows.campaign import build_campaign
    from lpsflow.store import open_stores

    camp = load_campaign(campaign)
    cflow = build_campaign(camp)
    note_device(camp)
    lp = load_launchpad(launchpad)
    with open_stores(camp.store, camp.base_dir) as stores:
        report = submit_campaign(camp, cflow, lp, stores)
    states = Counter(report.on_launchpad.values())
    if report.on_launchpad:
        echo(
            f"{len(report.on_launchpad)} of {len(cflow.jobs)} jobs already on the "
            "LaunchPad: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
        )
    if report.adopted:
        echo(
            f"{report.adopted} results stored under earlier job ids reused "
            "under today's"
        )
    if report.in_store:
        echo(f"{len(report.in_store)} jobs already computed (results in the store)")
    if not report.added:
        echo(f"nothing to add: campaign '{camp.name}' is fully submitted")
        return
    where = (
        f", appended to the workflow of fw_id {report.appended_to}"
        if report.appended_to
        else ""
    )
    echo(
        f"added {len(report.added)} jobs of campaign '{camp.name}' "
        f"(fw_ids {min(report.fw_ids.values())}-{max(report.fw_ids.values())}{where}); "
        "start workers with rlaunch/qlaunch, follow with: lpsflow status "
        f"{camp.name}"
    )
