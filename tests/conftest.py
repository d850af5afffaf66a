"""Shared fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

# Keep torch to the cores we have; tests run one MLIP process at a time.
os.environ.setdefault("OMP_NUM_THREADS", "2")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` run only with LPSFLOW_RUN_SLOW=1 (see README)."""
    if os.environ.get("LPSFLOW_RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set LPSFLOW_RUN_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def small_campaign(tmp_path_factory):
    """The small real campaign (every branch), run once for the whole session.

    Started with the CLI and terminated (SIGTERM) after two finished jobs, then
    resumed in-process: ``{"dir", "before" (uuids stored at the kill), "report",
    "first_s" (seconds of the resumed run), "stop" (exit status and the rest of
    the CLI's stderr)}``.
    """
    from campaign_snippets import SMALL_CAMPAIGN
    from lpsflow.campaign import load_campaign
    from lpsflow.dispatch.local import run_campaign
    from lpsflow.store import open_stores

    d = tmp_path_factory.mktemp("e2e")
    (d / "c.yaml").write_text(SMALL_CAMPAIGN)
    proc = subprocess.Popen(
        [sys.executable, "-m", "lpsflow.cli", "run", "c.yaml"],
        cwd=d,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    done, head = 0, []
    for line in proc.stderr:
        head.append(line)
        done += ": done in" in line
        if done >= 2:
            break
    proc.terminate()  # SIGTERM, as a batch system's time limit sends
    _, rest = proc.communicate(timeout=120)
    campaign = load_campaign(d / "c.yaml")
    stores = open_stores(campaign.store, campaign.base_dir)
    before = {doc["uuid"] for doc in stores.jobs.query({}, ["uuid"])}
    t0 = time.perf_counter()
    report = run_campaign(campaign, stores, echo=lambda _: None)
    first = time.perf_counter() - t0
    stores.close()
    return {
        "dir": d,
        "before": before,
        "report": report,
        "first_s": first,
        "stop": (proc.returncode, rest),
        "head": head,
    }
