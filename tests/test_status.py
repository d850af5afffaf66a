"""A campaign's progress and cost from its results store (lpsflow.status)."""

from __future__ import annotations

import re

import pytest

from lpsflow.results import NoResultsError
from lpsflow.status import RUN_STATS_KEY, peer_key, role_kind, store_status
from lpsflow.store import embedded_stores

JOBS = [
    ("relax:Li3PS4", "a"),
    ("relax:core:Al2S3:Li-site:0", "b"),
    ("neb:gb:Li7P3S11", "c"),
    ("screen:gb:homo:Li7P3S11", "d"),
    ("reaction:Li3PS4", "e"),
]


def _stats(wall, cpu, calls):
    return {"wall_s": wall, "cpu_s": cpu, "force_calls": calls, "calculator_s": 0.0}


@pytest.fixture
def stores(tmp_path):
    s = embedded_stores(tmp_path / "store").connect()
    s.campaigns.update(
        [
            {
                "campaign": "c",
                "jobs": [{"role": r, "uuid": u, "name": r} for r, u in JOBS],
                "failures": {
                    "d": "ValueError: no match",
                    "a": "an old failure",  # finished since
                    "y": "a job the campaign file no longer asks for",
                },
            }
        ],
        key="campaign",
    )
    docs = [
        {"uuid": "a", "index": 1, "output": 1, RUN_STATS_KEY: _stats(10.0, 9.0, 50)},
        {
            "uuid": "b",
            "index": 1,
            "output": 2,
            RUN_STATS_KEY: _stats(30.0, 29.5, 80) | {"peak_mb": 2300.0},
        },
        {"uuid": "c", "index": 1, "output": 3},  # no cost recorded: untimed
        {"uuid": "zz", "index": 1, "output": 4, RUN_STATS_KEY: _stats(99, 99, 9)},
    ]
    s.jobs.docs_store.update(docs, key=["uuid", "index"])
    yield s
    s.close()


def test_counts_failures_and_cost(stores):
    st = store_status(stores, "c", longest=1)
    assert (st.total, st.done, st.timed) == (5, 3, 2)  # "zz" is not the campaign's
    assert st.by_kind["relax"] == {"done": 2}
    assert st.by_kind["screen"] == {"not run": 1}
    assert st.by_kind["neb"] == {"done": 1}
    assert st.failures == {"d": "ValueError: no match"}  # "a" has finished since
    assert (st.wall_s, st.cpu_s, st.force_calls) == (40.0, 38.5, 130)
    assert st.longest == [(30.0, "relax:core:Al2S3:Li-site:0")]
    # by kind: the timed jobs only ("c" ran on a cluster)
    assert st.cost_by_kind["relax"] == {
        "wall_s": 40.0,
        "cpu_s": 38.5,
        "force_calls": 130,
        "peak_mb": 2300.0,  # the largest of one job ("a" has none recorded)
    }
    assert st.peak == (2300.0, "relax:core:Al2S3:Li-site:0")
    assert "neb" not in st.cost_by_kind


def test_unknown_campaign_is_a_clear_error(stores):
    with pytest.raises(NoResultsError, match=r"no campaign named 'x'.*: c$"):
        store_status(stores, "x")


def test_role_kind():
    assert role_kind("relax:core:Al2S3:Li-site:1/8:0") == "relax"
    assert role_kind("neb bulk") == "neb"
    assert role_kind("") == "job"


def test_peer_key():
    acc = ["Al2S3", "SiS2"]
    assert peer_key("relax:interface:hetero:Al2S3:n2", acc) == (
        "relax:interface:hetero:*:n2"
    )
    assert peer_key("relax:core:SiS2:Li-site:1/16:1", acc) == (
        "relax:core:*:Li-site:1/16:#"
    )
    assert peer_key("relax:Li3PS4", acc) == "relax:Li3PS4"  # not an accelerant


def test_jobs_left_are_estimated_from_finished_peers(stores):
    more = [("relax:core:SiS2:Li-site:1", "f"), ("relax:core:SiS2:Li-site:2", "g")]
    more += [("relax:interface:hetero:SiS2:n1", "h")]  # no finished peer
    doc = stores.campaigns.query_one({"campaign": "c"})
    doc["jobs"] += [{"role": r, "uuid": u, "name": r} for r, u in more]
    doc["definition"] = {"accelerants": ["Al2S3", "SiS2"]}
    stores.campaigns.update([doc], key="campaign")
    st = store_status(stores, "c")
    # f and g: like b (the same step on Al2S3); e, d, h: no timed peer
    assert st.left_estimated == 2
    assert (st.left_cpu_s, st.left_wall_s) == (59.0, 60.0)


def test_status_command_shows_the_estimate(stores, tmp_path):
    from typer.testing import CliRunner

    from lpsflow.cli import app

    doc = stores.campaigns.query_one({"campaign": "c"})
    doc["jobs"].append({"role": "relax:core:SiS2:Li-site:1", "uuid": "f"})
    doc["definition"] = {"accelerants": ["Al2S3", "SiS2"]}
    stores.campaigns.update([doc], key="campaign")
    stores.close()
    out = CliRunner().invoke(app, ["status", "c", "--store", str(tmp_path / "store")])
    assert out.exit_code == 0, out.output
    assert "3 of 6 jobs done, 3 not run" in out.output
    assert re.search(
        r"relax +2 done, 1 not run +40 s job time, 38 s CPU, 130 force calls, "
        r"peak 2.2 GB",
        out.output,
    )
    assert "most memory: relax:core:Al2S3:Li-site:0 2.2 GB" in out.output
    assert "left: 3 jobs; 1 of them cost about 30 s of CPU time" in out.output


def test_fireworks_status_estimates_from_completed_peers():
    from types import SimpleNamespace

    import mongomock

    from lpsflow.dispatch.fireworks import (
        META_ACCELERANTS,
        META_CAMPAIGN,
        campaign_status,
    )

    db = mongomock.MongoClient().db
    lp = SimpleNamespace(fireworks=db.fireworks, launches=db.launches, workflows=db.w)
    fws = [  # fw_id, role, state, runtime of the last launch
        (1, "relax:interface:hetero:Al2S3:n1", "COMPLETED", 100.0),
        (2, "relax:interface:hetero:SiS2:n1", "COMPLETED", 300.0),
        (3, "relax:interface:hetero:Ga2S3:n1", "RUNNING", None),
        (4, "relax:interface:hetero:Ga2S3:n2", "READY", None),  # no peer
        (5, "relax:Li3PS4", "COMPLETED", 7.0),
    ]
    for fw_id, role, state, runtime in fws:
        launches = [fw_id] if runtime is not None else []
        db.fireworks.insert_one(
            {"fw_id": fw_id, "name": role.replace(":", " "), "state": state,
             "spec": {"lpsflow_role": role}, "launches": launches}
        )  # fmt: skip
        if runtime is not None:
            db.launches.insert_one({"launch_id": fw_id, "runtime_secs": runtime})
    db.w.insert_one(
        {"nodes": [1, 2, 3, 4, 5],
         "metadata": {META_CAMPAIGN: "c", META_ACCELERANTS: ["Al2S3", "Ga2S3", "SiS2"]}}
    )  # fmt: skip
    st = campaign_status(lp, "c")
    assert st.runtime_s == 407.0
    assert (st.left_estimated, st.left_s) == (1, 200.0)  # job 3, as 1 and 2 took


def test_status_lists_the_jobs_running_now_and_those_killed(stores, tmp_path):
    import json
    import os
    import re
    import subprocess
    import sys

    from typer.testing import CliRunner

    from lpsflow.calculators import progress
    from lpsflow.cli import app

    stores.close()
    (tmp_path / "c.yaml").write_text(
        "name: c\naccelerants: [Al2S3]\nstore: {path: store}\nworkdir: work\n"
    )
    work = tmp_path / "work"
    (work / "screen_d").mkdir(parents=True)  # the runner makes a job's directory
    # a job this process runs now
    with progress.running("screen gb homo Li7P3S11", "d", work / "screen_d"):
        # a job whose run was killed: its process is gone, the file is left behind
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
        gone = work / "reaction_e" / progress.PROGRESS_FILE
        gone.parent.mkdir(parents=True)
        gone.write_text(
            json.dumps(
                {
                    "uuid": "e",
                    "name": "reaction Li3PS4",
                    "host": __import__("socket").gethostname(),
                    "pid": int(dead.stdout),
                    "started": "2026-11-27T01:00:00+00:00",
                }
            )
        )
        done = work / "relax_a" / progress.PROGRESS_FILE  # finished since: ignored
        done.parent.mkdir(parents=True)
        done.write_text(json.dumps({"uuid": "a", "name": "relax Li3PS4", "pid": 1}))
        (work / "broken").mkdir()
        (work / "broken" / progress.PROGRESS_FILE).write_text("{not json")
        out = CliRunner().invoke(app, ["status", str(tmp_path / "c.yaml")])
    assert out.exit_code == 0, out.output
    assert "3 of 5 jobs done, 1 running, 1 not run" in out.output
    assert re.search(
        r"running now \(1\):\n  screen gb homo Li7P3S11: \d+\.\d min, 0 force calls, "
        rf"pid {os.getpid()} on ",
        out.output,
    )
    assert "stopped while running (1;" in out.output
    assert "  reaction Li3PS4: started 2026-11-27T01:00:00+00:00" in out.output
    assert "relax Li3PS4" not in out.output
    assert not (work / "screen_d" / progress.PROGRESS_FILE).exists()  # job ended


def test_status_says_when_the_campaign_file_changed_since_its_jobs_were_listed(
    stores, tmp_path
):
    from typer.testing import CliRunner

    from lpsflow.campaign import load_campaign
    from lpsflow.cli import app

    yaml = tmp_path / "c.yaml"
    yaml.write_text("name: c\naccelerants: [Al2S3]\nstore: {path: store}\n")
    listed = load_campaign(yaml).definition_hash()
    stores.campaigns.update(
        [{**stores.campaigns.query_one({"campaign": "c"}), "hash": listed,
          "updated": "2026-11-27T09:13:52.1+00:00"}],
        key="campaign",
    )  # fmt: skip
    stores.close()
    unchanged = CliRunner().invoke(app, ["status", str(yaml)])
    assert unchanged.exit_code == 0, unchanged.output
    assert "3 of 5 jobs done" in unchanged.output
    assert "has changed" not in unchanged.output
    yaml.write_text("name: c\naccelerants: [Al2S3, Ga2S3]\nstore: {path: store}\n")
    changed = CliRunner().invoke(app, ["status", str(yaml)])
    assert changed.exit_code == 0, changed.output
    assert "3 of 5 jobs done" in changed.output  # still the listed jobs
    assert "has changed since these jobs were listed (2026-11-27 09:13 UTC)" in (
        " ".join(changed.output.split())
    )
    assert f"lpsflow validate {yaml}" in "".join(changed.output.split("\n"))


MINIMAL = """\
name: v
accelerants: [Al2S3]
interfaces: {enabled: false}
vacancies: {enabled: false}
grain_boundaries: {enabled: false}
neb: {enabled: false}
"""


def test_validate_marks_the_jobs_its_store_lacks(tmp_path):
    """`lpsflow validate` says what a run would compute now, without making a store."""
    from typer.testing import CliRunner

    from lpsflow.campaign import load_campaign
    from lpsflow.cli import app
    from lpsflow.flows.campaign import build_campaign

    yaml = tmp_path / "v.yaml"
    yaml.write_text(MINIMAL + "store: {path: store}\n")
    first = CliRunner().invoke(app, ["validate", str(yaml)])
    assert first.exit_code == 0, first.output
    assert "jobs (no store at " in first.output
    assert "every job to compute" in first.output
    assert not (tmp_path / "store").exists()

    roles = build_campaign(load_campaign(yaml)).roles
    s = embedded_stores(tmp_path / "store").connect()
    s.jobs.docs_store.update(
        [{"uuid": roles["relax:Li2S"], "index": 1, "output": 1}], key=["uuid", "index"]
    )
    s.close()
    again = CliRunner().invoke(app, ["validate", str(yaml)])
    assert again.exit_code == 0, again.output
    n = len(roles)
    assert f"{n} jobs; 1 already in its store (" in again.output
    assert f"{n - 1} to compute (marked +)" in again.output
    lines = again.output.splitlines()
    assert "    relax:Li2S" in lines and "  + relax:P2S5" in lines

    mongo = "{type: mongodb, uri: 'mongodb://127.0.0.1:9/', timeout_s: 0.5}"
    yaml.write_text(MINIMAL + f"store: {mongo}\n")
    offline = CliRunner().invoke(app, ["validate", str(yaml)])
    assert offline.exit_code == 0, offline.output  # checking a file needs no store
    assert "cannot reach the mongodb store" in offline.output
    assert "cannot say what is already computed" in offline.output
    assert "  relax:Li2S" in offline.output.splitlines()
