"""Adaptive sampling: an undecided criterion raises exactly the settings that
sample it, a decided one none; caps, spreads known final, max_rounds and the
budget stop the rounds; a real campaign runs its rounds, resumes them after a
kill without recomputing, and reads its results from the last round."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from campaign_snippets import adaptive_tiny
from lpsflow.analysis.ranking import CriterionResult
from lpsflow.campaign import campaign_from_dict
from lpsflow.sampling.rounds import plan

BASE = {"name": "t", "accelerants": ["Al2S3"], "sampling": {"mode": "adaptive"}}
KEYS = ("formation", "solution", "solubility", "binding", "mu_li", "migration")


def _results(
    undecided: dict[str, float | None] | None = None, status: str = "pass"
) -> list[CriterionResult]:
    """Every criterion passing (or ``status``), those in ``undecided`` undecided
    with that spread."""
    undecided = undecided or {}
    return [
        CriterionResult(
            key=k,
            value=0.0,
            spread=undecided.get(k),
            display="",
            status="undecided" if k in undecided else status,
            reason="[undecided: margin inside the spread]" if k in undecided else "",
            weight=1.0,
        )
        for k in KEYS
    ]


def _plan(results, number=1, spent=0, **sampling):
    camp = campaign_from_dict({**BASE, "sampling": {"mode": "adaptive", **sampling}})
    return plan(camp, {"Li-site": results}, number, spent)


def test_an_undecided_criterion_raises_exactly_the_settings_it_rests_on():
    p = _plan(_results({"binding": 0.004}))
    assert p.raised == {"interfaces.relax_top": 2} and p.stop == ""
    assert p.undecided == ["binding"]
    p = _plan(_results({"mu_li": None, "formation": 0.01}))
    assert p.raised == {"vacancies.relax_top": 3, "doping.relax_top": 3}


def test_decided_criteria_raise_nothing():
    for status in ("pass", "fail"):
        p = _plan(_results(status=status))
        assert p.raised == {} and p.stop == "every criterion decided"


def test_nothing_is_raised_where_sampling_cannot_help():
    """No setting samples the solubility; a spread of 0 is final (every distinct
    sample taken); a setting at its cap stays."""
    p = _plan(_results({"solubility": 0.1, "mu_li": 0.0}))
    assert p.raised == {} and p.stop.startswith("no undecided criterion left")
    assert any("every sample taken" in w for w in p.why)
    p = _plan(_results({"formation": 0.01}), max_samples=2)  # doping.relax_top 2
    assert p.raised == {} and "at its cap (2)" in " ".join(p.why)


def test_a_criterion_undecided_by_a_condition_raises_nothing():
    """E_sol whose sign depends on the phase beside the core: not a spread."""
    results = _results({"solution": 0.01, "mu_li": 0.02})
    for r in results:
        if r.key == "solution":
            r.reason = "depends on the phase beside the core"
    p = _plan(results)
    assert p.raised == {"vacancies.relax_top": 3}
    assert "solution: undecided by a condition, not inside its spread" in p.why


def test_a_criterion_the_last_samples_left_unmoved_raises_nothing_more():
    """mu_Li at the value and spread of the last round (the new Li site landed
    above the next-lowest): not raised again; binding moved: raised."""
    from lpsflow.sampling.rounds import values

    now = _results({"mu_li": 0.03, "binding": 0.004})
    before = values({"Li-site": _results({"mu_li": 0.03, "binding": 0.006})})
    camp = campaign_from_dict(BASE)
    p = plan(camp, {"Li-site": now}, 2, 0, before)
    assert p.raised == {"interfaces.relax_top": 2}
    assert any(w.startswith("mu_li: undecided; the last round's") for w in p.why)


def test_max_rounds_and_the_budget_stop_the_rounds():
    undecided = _results({"binding": 0.004})
    assert _plan(undecided, number=3).stop == "sampling.max_rounds (3) reached"
    assert _plan(undecided, number=2).stop == ""
    p = _plan(undecided, number=2, spent=500, budget=400)
    assert p.stop == "sampling.budget (400 force calls) spent: 500" and not p.raised
    assert _plan(undecided, number=2, spent=300, budget=400).stop == ""


TINY = adaptive_tiny("tiny", "Al2S3, Ga2S3", max_rounds=3)


def _run(path, *args):
    return subprocess.run(
        [sys.executable, "-m", "lpsflow.cli", *args],
        cwd=path,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _rounds(path, accelerant="Al2S3"):
    from lpsflow.campaign import load_campaign
    from lpsflow.results import manifest
    from lpsflow.roles import roles_of
    from lpsflow.sampling.read import rounds
    from lpsflow.store import open_stores

    camp = load_campaign(path / "tiny.yaml")
    with open_stores(camp.store, camp.base_dir, create=False) as stores:
        return rounds(stores, roles_of(manifest(stores, "tiny")))[accelerant]


@pytest.fixture(scope="module")
def adaptive(tmp_path_factory):
    path = tmp_path_factory.mktemp("adaptive")
    (path / "tiny.yaml").write_text(TINY)
    run = _run(path, "run", "tiny.yaml", "--workers", "1")
    assert run.returncode == 0, run.stdout + run.stderr
    return path, run.stdout + run.stderr


def test_an_adaptive_campaign_samples_until_its_rounds_stop(adaptive):
    path, out = adaptive
    chain = _rounds(path)
    assert [d["round"] for d in chain] == [1, 2, 3]
    first, second, last = chain
    assert first["settings"]["vacancies:relax_top"] == 1
    assert "mu_li" in first["undecided"]
    assert first["raised"]["vacancies:relax_top"] == 2
    assert second["raised"]["vacancies:relax_top"] == 3
    assert last["stop"] and not last["raised"]  # max_rounds, or nothing moved
    assert first["next_definition"] and last["next_definition"] is None
    assert len({d["job"] for d in chain}) == 3
    assert last["spent"] > second["spent"] > 0 == first["spent"]
    assert "round 1 Al2S3: adds" in out and "round 1 Ga2S3: adds" in out
    for acc, other in (("Al2S3", "Ga2S3"), ("Ga2S3", "Al2S3")):
        for decision in _rounds(path, acc):  # each reads and adds its own jobs
            assert decision["definition"]["accelerants"] == [acc]
            assert not [r for r in decision["roles"] if other in r]
            assert set(decision["verdicts"]) == {"Li-site"}
    assert "the same calculation as relax vacancy" in out  # earlier sites: copied
    from lpsflow.campaign import load_campaign
    from lpsflow.results import load
    from lpsflow.store import open_stores

    camp = load_campaign(path / "tiny.yaml")
    with open_stores(camp.store, camp.base_dir, create=False) as stores:
        table = load("tiny", stores).to_dict("records")
    assert [r["accelerant"] for r in table] == ["Al2S3", "Ga2S3"]
    for row in table:
        assert row["mu_Li_core_samples"] == 3  # the last round's three Li sites
        assert (
            row["rounds"] == 3
            and row["sampling"] == _rounds(path, row["accelerant"])[-1]["stop"]
        )
    res = _run(path, "results", "tiny.yaml")
    assert res.returncode == 0, res.stderr
    assert "(3)" in res.stdout and "Adaptive sampling" in res.stdout
    status = _run(path, "status", "tiny.yaml").stdout
    assert f"adaptive sampling, Al2S3: 3 rounds; stopped: {last['stop']}" in status
    total = re.search(r"(\d+) of (\d+) jobs done", status)
    assert total and total[1] == total[2]  # the rounds' jobs counted, all done
    assert int(total[2]) > 60


def test_a_killed_adaptive_run_resumes_without_recomputing(adaptive, tmp_path):
    """The store as a kill after round 2's decision left it (round 3 and what
    round 2 added not stored): the rerun adds them from round 2's stored
    decision and computes only those (copies the calculations stored under the
    earlier rounds' ids); a third run computes nothing."""
    import shutil

    from lpsflow.campaign import load_campaign
    from lpsflow.store import open_stores

    src, _ = adaptive
    shutil.copytree(src / "store", tmp_path / "store")
    (tmp_path / "tiny.yaml").write_text(TINY)
    chain = _rounds(tmp_path)
    second = chain[1]
    camp = load_campaign(tmp_path / "tiny.yaml")
    with open_stores(camp.store, camp.base_dir, create=False) as stores:
        # Al2S3's round 3 and the jobs only it reads (round 2 added them)
        gone = set(chain[2]["roles"].values()) - set(second["roles"].values())
        gone.add(chain[2]["job"])
        stores.jobs.docs_store.remove_docs({"uuid": {"$in": list(gone)}})
    run = _run(tmp_path, "run", "tiny.yaml", "--workers", "1")
    assert run.returncode == 0, run.stderr
    out = run.stdout + run.stderr
    assert "jobs added by the stored decisions of expanding jobs" in out
    copied = out.count(": the same calculation as ")  # stored under another id
    assert copied > 0 and f"{copied} copied from the same calculation" in out
    assert f"{len(gone) - copied} computed" in out  # the rest of what was lost
    assert [d["round"] for d in _rounds(tmp_path)] == [1, 2, 3]
    again = _run(tmp_path, "run", "tiny.yaml", "--workers", "1")
    assert " 0 computed" in again.stdout + again.stderr
