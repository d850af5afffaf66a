"""Run a campaign locally, resuming from whatever the store already holds.

jobflow's ``run_locally`` runs every job of a flow every time. Campaigns are long and
get interrupted, so this runner walks the same flow (same jobs, same ``Job.run``) but:

* skips every job whose content-derived uuid already has an output in the store
  (finished work is never repeated, in this campaign or in another one);
* keeps going when a job fails, skips only its descendants, and records the failure
  in the campaign manifest;
* prints one progress line per job with timings.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lpsflow.calculators.outputs import summarize
from lpsflow.flows.campaign import CampaignFlow, build_campaign

if TYPE_CHECKING:
    from jobflow import Flow, Job

    from lpsflow.campaign import Campaign
    from lpsflow.store import Stores


@dataclass
class RunReport:
    """What a local run did."""

    total: int = 0
    reused: int = 0
    completed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    job_s: dict[str, float] = field(default_factory=dict)
    force_calls: int = 0
    """MLIP energy/force evaluations in this run."""
    calculator_s: float = 0.0
    """Seconds spent inside the MLIP calculator in this run."""

    @property
    def ok(self) -> bool:
        """Every job finished (now or earlier)."""
        return not self.failed and not self.skipped


def finished_uuids(stores: Stores, uuids: list[str]) -> set[str]:
    """The uuids among ``uuids`` that have an output in the job store."""
    docs = stores.jobs.query({"uuid": {"$in": list(uuids)}}, properties=["uuid"])
    return {d["uuid"] for d in docs}


def write_manifest(
    stores: Stores, campaign: Campaign, cflow: CampaignFlow, **extra: Any
) -> None:
    """Record the campaign's definition and job roles (upsert by campaign name)."""
    now = dt.datetime.now(dt.UTC).isoformat()
    existing = stores.campaigns.query_one({"campaign": campaign.name}) or {}
    names = {j.uuid: j.name for j in cflow.jobs}
    doc = {
        "campaign": campaign.name,
        "hash": campaign.definition_hash(),
        "definition": campaign.model_dump(mode="json"),
        "jobs": [
            {"role": role, "uuid": uuid, "name": names.get(uuid, "")}
            for role, uuid in cflow.roles.items()
        ],
        "created": existing.get("created", now),
        "updated": now,
        "failures": existing.get("failures", {}),
        **extra,
    }
    stores.campaigns.update([doc], key="campaign")


def _safe_dirname(name: str, uuid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") + "_" + uuid[:8]


def _describe_output(output: Any) -> str:
    try:
        s = summarize(output)
    except Exception:
        energy = getattr(output, "energy_per_atom", None)
        return f"dE_r = {energy:+.4f} eV/atom" if isinstance(energy, float) else ""
    flag = "converged" if s.converged else "NOT CONVERGED"
    steps = f", {s.n_steps} steps" if s.n_steps else ""
    return f"E = {s.energy_per_atom:.4f} eV/atom ({flag}{steps})"


def run_flow(
    flow: Flow,
    stores: Stores,
    workdir: Path,
    on_failure: Callable[[Job, str], None] | None = None,
    echo: Callable[[str], None] = print,
) -> RunReport:
    """Run the unfinished jobs of ``flow`` in dependency order."""
    from lpsflow.calculators.mlip import STATS

    t0 = time.perf_counter()
    calls0, calc0 = STATS.calls, STATS.seconds
    report = RunReport()
    jobs = list(flow.iterflow())
    report.total = len(jobs)
    done = finished_uuids(stores, [j.uuid for j, _ in jobs])
    report.reused = len(done)
    todo = [(j, p) for j, p in jobs if j.uuid not in done]
    if done:
        echo(f"{len(done)} of {len(jobs)} jobs already in the store: reused")
    bad: set[str] = set()
    workdir.mkdir(parents=True, exist_ok=True)
    for n, (job, parents) in enumerate(todo, 1):
        prefix = f"[{n}/{len(todo)}] {job.name}"
        if bad.intersection(parents):
            bad.add(job.uuid)
            report.skipped.append(job.uuid)
            echo(f"{prefix}: skipped (an input job failed)")
            continue
        job_dir = workdir / _safe_dirname(job.name, job.uuid)
        job_dir.mkdir(parents=True, exist_ok=True)
        t_job = time.perf_counter()
        try:
            with contextlib.chdir(job_dir):
                response = job.run(store=stores.jobs, job_dir=job_dir)
            if response.replace or response.addition or response.detour:
                raise RuntimeError("dynamic (Response) jobs are not run locally")
        except KeyboardInterrupt:
            echo(f"{prefix}: interrupted; finished work is kept, rerun to resume")
            raise
        except Exception as exc:
            bad.add(job.uuid)
            msg = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            report.failed[job.uuid] = msg
            (job_dir / "error.txt").write_text(traceback.format_exc())
            echo(f"{prefix}: FAILED ({msg}); traceback in {job_dir / 'error.txt'}")
            if on_failure:
                on_failure(job, msg)
            continue
        dt_job = time.perf_counter() - t_job
        report.job_s[job.uuid] = dt_job
        report.completed.append(job.uuid)
        echo(f"{prefix}: done in {dt_job:.1f} s  {_describe_output(response.output)}")
    report.wall_s = time.perf_counter() - t0
    report.force_calls = STATS.calls - calls0
    report.calculator_s = STATS.seconds - calc0
    return report


def run_campaign(
    campaign: Campaign,
    stores: Stores,
    workdir: Path | None = None,
    echo: Callable[[str], None] = print,
    cflow: CampaignFlow | None = None,
) -> RunReport:
    """Record the campaign's manifest and run what the store does not hold yet.

    ``cflow`` is the campaign's built flow (built here if not given); building it
    first validates every input before anything is written to the store.
    """
    t0 = time.perf_counter()
    cflow = cflow or build_campaign(campaign)
    echo(
        f"campaign '{campaign.name}': {', '.join(campaign.accelerants)}; "
        f"{len(cflow.flow.jobs)} jobs; store: {stores.location}; "
        f"calculator: {campaign.calculator.backend}"
        + (
            f" ({campaign.calculator.model})"
            if campaign.calculator.backend == "mlip"
            else ""
        )
    )
    write_manifest(stores, campaign, cflow)

    def record_failure(job: Job, msg: str) -> None:
        doc = stores.campaigns.query_one({"campaign": campaign.name})
        doc["failures"] = {**doc.get("failures", {}), job.uuid: msg}
        stores.campaigns.update([doc], key="campaign")

    workdir = workdir or campaign.resolve(campaign.workdir)
    report = run_flow(cflow.flow, stores, Path(workdir), record_failure, echo)
    # clear failures of jobs that have since finished
    doc = stores.campaigns.query_one({"campaign": campaign.name})
    finished = finished_uuids(stores, list(doc.get("failures", {})))
    if finished:
        doc["failures"] = {
            k: v for k, v in doc["failures"].items() if k not in finished
        }
        stores.campaigns.update([doc], key="campaign")
    report.wall_s = time.perf_counter() - t0
    return report
