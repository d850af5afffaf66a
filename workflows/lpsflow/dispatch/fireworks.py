"""Cluster campaigns through FireWorks: submit, status, rerun failed and lost jobs.

A campaign becomes FireWorks workflows with jobflow's ``flow_to_workflow``; every
firework runs one jobflow job (jobflow's ``JobFiretask``, as
:class:`~lpsflow.dispatch.firetask.CampaignJobFiretask`, which also records the job's
cost in its document) on a worker whose jobflow configuration
(``JOBFLOW_CONFIG_FILE``) points at the shared MongoDB job store.

Submission is idempotent because job ids are content-derived: a job whose uuid is
already on the LaunchPad, or whose output is already in the job store (computed
locally or by an earlier campaign), is not added again. Only the missing jobs are
added, as a new workflow tagged with the campaign name and definition hash; when they
depend on fireworks of an earlier submission that have not completed yet, the new
workflow is appended to that workflow so FireWorks orders them. Each firework's
``_priority`` is the expected cost of its downstream chain
(:mod:`lpsflow.dispatch.schedule`), so workers start the long chains first.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from lpsflow.errors import ConfigError, LpsflowError, StoreError
from lpsflow.status import role_kind
from lpsflow.store import redact

if TYPE_CHECKING:
    from fireworks import LaunchPad

    from lpsflow.campaign import Campaign
    from lpsflow.flows.campaign import CampaignFlow
    from lpsflow.store import Stores

#: Workflow metadata keys.
META_CAMPAIGN = "lpsflow_campaign"
META_HASH = "lpsflow_hash"
META_ACCELERANTS = "lpsflow_accelerants"

#: Where a firework's jobflow job uuid lives in its document.
UUID_KEY = "spec._tasks.job.uuid"


class CampaignNotFoundError(LpsflowError):
    """No workflow of that campaign on the LaunchPad."""


def load_launchpad(path: str | Path, timeout_s: float = 5.0) -> LaunchPad:
    """A connected LaunchPad from a ``my_launchpad.yaml`` (read with a safe loader)."""
    from fireworks import LaunchPad

    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"launchpad file not found: {path}")
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"launchpad file {path} is not valid YAML{where}") from exc
    if not isinstance(spec, dict):
        raise ConfigError(f"launchpad file {path} must hold a mapping of settings")
    spec["mongoclient_kwargs"] = {
        "serverSelectionTimeoutMS": int(timeout_s * 1000),
        **(spec.get("mongoclient_kwargs") or {}),
    }
    try:
        lp = LaunchPad.from_dict(spec)
        lp.connection.admin.command("ping")
        lp.fireworks.find_one({}, {"fw_id": 1})  # authentication is checked here
    except Exception as exc:
        host = redact(str(spec.get("host", "?")))  # uri_mode: host is a full URI
        msg = str(exc).split(" (configured timeouts")[0].splitlines()[0][:200]
        raise StoreError(f"cannot use the LaunchPad at {host} ({path}): {msg}") from exc
    return lp


@dataclass
class SubmitReport:
    """What a submission added."""

    added: list[str] = field(default_factory=list)
    on_launchpad: dict[str, str] = field(default_factory=dict)
    """uuid -> FireWorks state of jobs already on the LaunchPad."""
    in_store: list[str] = field(default_factory=list)
    """Jobs whose results are already in the job store (not submitted)."""
    fw_ids: dict[str, int] = field(default_factory=dict)
    appended_to: int | None = None
    """fw_id of the workflow the new jobs were appended to, if any."""
    adopted: int = 0
    """Results stored under earlier job ids reused under today's."""


def existing_fireworks(lp: LaunchPad, uuids: list[str]) -> dict[str, dict]:
    """Fireworks whose job uuid is in ``uuids``: uuid -> {fw_id, state}."""
    out = {}
    for doc in lp.fireworks.find(
        {UUID_KEY: {"$in": list(uuids)}}, {"fw_id": 1, "state": 1, "spec._tasks": 1}
    ):
        uuid = doc["spec"]["_tasks"][0]["job"]["uuid"]
        if uuid not in out or doc["fw_id"] > out[uuid]["fw_id"]:
            out[uuid] = {"fw_id": doc["fw_id"], "state": doc["state"]}
    return out


#: States of a firework that will not run again by itself.
SETTLED_STATES = ("COMPLETED", "DEFUSED", "ARCHIVED")


def _check_no_legacy_fireworks(lp: LaunchPad, cflow: CampaignFlow) -> None:
    """Refuse to submit beside live fireworks of an earlier submission of these jobs.

    They carry earlier job ids (lpsflow 0.1.0, identity 2): both would compute the
    same calculations.
    """
    from lpsflow.dispatch.adopt import earlier_ids

    old = sorted({o for ids in earlier_ids(cflow).values() for o in ids.values()})
    live = {
        u: e for u, e in existing_fireworks(lp, old).items()
        if e["state"] not in SETTLED_STATES
    }  # fmt: skip
    if live:
        ids = " ".join(str(i) for i in sorted(e["fw_id"] for e in live.values()))
        raise LpsflowError(
            f"{len(live)} fireworks of an earlier submission of these jobs are not "
            "finished (they carry the job ids of an earlier lpsflow): let them "
            "complete, or "
            f"defuse them (lpad defuse_fws -i {ids}), then submit again"
        )


def submit_campaign(
    campaign: Campaign, cflow: CampaignFlow, lp: LaunchPad, stores: Stores
) -> SubmitReport:
    """Add the campaign's missing jobs to the LaunchPad and record its manifest."""
    from jobflow.managers.fireworks import flow_to_workflow

    from lpsflow.dispatch.adopt import adopt_legacy
    from lpsflow.dispatch.firetask import with_recorded_cost
    from lpsflow.dispatch.local import write_manifest
    from lpsflow.dispatch.schedule import heights
    from lpsflow.dispatch.sharing import finished_uuids

    if lp.fw_id_assigner.find_one({}) is None:
        raise LpsflowError(
            "the LaunchPad database is not initialised: run 'lpad -l "
            "my_launchpad.yaml reset' once (see deploy/README.md)"
        )
    _check_no_legacy_fireworks(lp, cflow)
    uuids = [j.uuid for j in cflow.jobs]
    report = SubmitReport(adopted=adopt_legacy(stores, cflow))
    existing = existing_fireworks(lp, uuids)
    report.on_launchpad = {u: e["state"] for u, e in existing.items()}
    done = finished_uuids(stores, [u for u in uuids if u not in existing])
    report.in_store = sorted(done)
    new = {u for u in uuids if u not in existing and u not in done}
    write_manifest(stores, campaign, cflow, backend="fireworks")
    if not new:
        _mark_definition(lp, campaign)
        return report

    flow = cflow.subflow(new)
    jobs = list(flow.iterflow())
    # parents outside the new set that have not completed must run first
    pending_parents = set()
    for job, _ in jobs:
        for ref in job.input_references:
            ext = existing.get(ref.uuid)
            if ext and ext["state"] != "COMPLETED":
                pending_parents.add(ext["fw_id"])
    wf = flow_to_workflow(
        flow,
        allow_external_references=True,
        name=f"lpsflow {campaign.name}",
        metadata={
            META_CAMPAIGN: campaign.name,
            META_HASH: campaign.definition_hash(),
            META_ACCELERANTS: list(campaign.accelerants),
            "submitted": dt.datetime.now(dt.UTC).isoformat(),
        },
    )
    with_recorded_cost(wf)  # the jobs' cost into their documents, as a local run
    # the longest chains first, as in a local run: rlaunch pulls READY fireworks by
    # spec._priority (highest first)
    height = heights(jobs)
    for fw in wf.fws:
        fw.spec["_priority"] = round(height[fw.tasks[0]["job"].uuid], 2)
    if pending_parents:
        wf_ids = {
            lp.workflows.find_one({"nodes": fw_id}, {"_id": 1})["_id"]
            for fw_id in pending_parents
        }
        if len(wf_ids) > 1:
            raise LpsflowError(
                "the new jobs depend on unfinished jobs of several workflows; "
                "wait for them to complete (lpsflow status) and submit again"
            )
        lp.append_wf(wf, sorted(pending_parents))
        report.appended_to = min(pending_parents)
    else:
        lp.add_wf(wf)
    report.fw_ids = {
        u: e["fw_id"] for u, e in existing_fireworks(lp, sorted(new)).items()
    }
    report.added = sorted(new)
    _mark_definition(lp, campaign)
    return report


def _mark_definition(lp: LaunchPad, campaign: Campaign) -> None:
    """Record the submitted definition on all the campaign's workflows.

    An appended workflow keeps the metadata of the one it joined.
    """
    lp.workflows.update_many(
        {f"metadata.{META_CAMPAIGN}": campaign.name},
        {"$set": {f"metadata.{META_HASH}": campaign.definition_hash()}},
    )


def campaign_fireworks(
    lp: LaunchPad, campaign: str, uuids: list[str] | None = None
) -> list[dict]:
    """Firework documents of a campaign: its workflows' fireworks (or these uuids)."""
    if uuids is None:
        fw_ids: list[int] = []
        for wf in lp.workflows.find(
            {f"metadata.{META_CAMPAIGN}": campaign}, {"nodes": 1}
        ):
            fw_ids.extend(wf["nodes"])
        if not fw_ids:
            names = sorted(lp.workflows.distinct(f"metadata.{META_CAMPAIGN}"))
            hint = f"; campaigns on it: {', '.join(names)}" if names else ""
            raise CampaignNotFoundError(
                f"no campaign named '{campaign}' on the LaunchPad{hint}"
            )
        query: dict[str, Any] = {"fw_id": {"$in": fw_ids}}
    else:
        query = {UUID_KEY: {"$in": uuids}}
    return list(
        lp.fireworks.find(
            query,
            {"fw_id": 1, "state": 1, "name": 1, "spec.lpsflow_role": 1, "launches": 1},
        )
    )


def fw_role(fw: dict) -> str:
    """A firework's campaign role (its job name where it has none)."""
    return fw.get("spec", {}).get("lpsflow_role") or fw.get("name", "")


def job_kind(fw: dict) -> str:
    """Kind of a job from its role or name: relax, screen, reaction, ..."""
    return role_kind(fw_role(fw))


def error_line(lp: LaunchPad, fw_id: int) -> str:
    """First line of the error of a FIZZLED firework's last launch."""
    fw = lp.fireworks.find_one({"fw_id": fw_id}, {"launches": 1})
    launch_ids = (fw or {}).get("launches") or []
    if not launch_ids:
        return "no launch recorded"
    launch = lp.launches.find_one(
        {"launch_id": launch_ids[-1]}, {"action": 1, "state_history": 1}
    )
    data = ((launch or {}).get("action") or {}).get("stored_data") or {}
    trace = (data.get("_exception") or {}).get("_stacktrace") or ""
    lines = [ln.strip() for ln in trace.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "fizzled (no error recorded)"


@dataclass
class CampaignStatus:
    """State counts of a campaign's fireworks."""

    by_state: Counter = field(default_factory=Counter)
    by_kind: dict[str, Counter] = field(default_factory=dict)
    failed: list[tuple[int, str, str]] = field(default_factory=list)
    """(fw_id, job name, first line of the error) of FIZZLED fireworks."""
    runtime_s: float = 0.0
    """Wall time of the COMPLETED fireworks' last launches (s)."""
    left_estimated: int = 0
    """Fireworks not completed with a completed peer (the same step on another
    accelerant, :func:`lpsflow.status.peer_key`)."""
    left_s: float = 0.0
    """Their expected job time (s): the mean of their completed peers'."""
    definition_hashes: set[str] = field(default_factory=set)
    """:meth:`~lpsflow.campaign.Campaign.definition_hash` of the last submission."""
    cost_by_kind: dict[str, Counter] = field(default_factory=dict)
    """Job kind -> ``wall_s`` of its COMPLETED fireworks' last launches."""


def campaign_status(lp: LaunchPad, campaign: str) -> CampaignStatus:
    """Counts by state and job kind, the failing jobs with their error, job time."""
    from lpsflow.status import estimate_left

    status = CampaignStatus()
    completed: dict[int, str] = {}  # last launch -> role
    left: list[str] = []
    for fw in campaign_fireworks(lp, campaign):
        status.by_state[fw["state"]] += 1
        role = fw_role(fw)
        status.by_kind.setdefault(role_kind(role), Counter())[fw["state"]] += 1
        if fw["state"] == "FIZZLED":
            status.failed.append((fw["fw_id"], fw["name"], error_line(lp, fw["fw_id"])))
        if fw["state"] == "COMPLETED" and fw.get("launches"):
            completed[fw["launches"][-1]] = role
        elif fw["state"] != "COMPLETED":
            left.append(role)
    done = []
    for launch in lp.launches.find(
        {"launch_id": {"$in": list(completed)}}, {"launch_id": 1, "runtime_secs": 1}
    ):
        runtime = launch.get("runtime_secs") or 0.0
        status.runtime_s += runtime
        role = completed[launch["launch_id"]]
        done.append((role, {"wall_s": runtime}))
        status.cost_by_kind.setdefault(role_kind(role), Counter())["wall_s"] += runtime
    accelerants = set()
    for wf in lp.workflows.find(
        {f"metadata.{META_CAMPAIGN}": campaign},
        {f"metadata.{META_ACCELERANTS}": 1, f"metadata.{META_HASH}": 1},
    ):
        meta = wf.get("metadata", {})
        accelerants.update(meta.get(META_ACCELERANTS) or [])
        if meta.get(META_HASH):
            status.definition_hashes.add(meta[META_HASH])
    status.left_estimated, cost = estimate_left(done, left, accelerants)
    status.left_s = cost.get("wall_s", 0.0)
    return status


def rerun_failed(
    lp: LaunchPad, campaign: str, kind: str | None = None, error: str | None = None
) -> list[int]:
    """Rerun the campaign's FIZZLED fireworks (optionally by job kind/error regex)."""
    pattern = re.compile(error) if error else None
    chosen = []
    for fw in campaign_fireworks(lp, campaign):
        if fw["state"] != "FIZZLED":
            continue
        if kind and job_kind(fw) != kind:
            continue
        if pattern and not pattern.search(error_line(lp, fw["fw_id"])):
            continue
        chosen.append(fw["fw_id"])
    for fw_id in chosen:
        lp.rerun_fw(fw_id)
    return chosen


def rerun_lost(lp: LaunchPad, campaign: str, expiration_s: float) -> list[int]:
    """Requeue the campaign's RUNNING fireworks that stopped reporting.

    Uses FireWorks' lost-run detection: a launch whose last ping is older than
    ``expiration_s`` is lost; its firework is rerun (completed work is untouched).
    """
    fw_ids = [fw["fw_id"] for fw in campaign_fireworks(lp, campaign)]
    _, lost_fw_ids, _ = lp.detect_lostruns(
        expiration_secs=expiration_s, rerun=True, query={"fw_id": {"$in": fw_ids}}
    )
    return sorted(lost_fw_ids)
