"""Run a campaign locally, resuming from whatever the store already holds.

jobflow's ``run_locally`` runs every job of a flow every time. Campaigns are long and
get interrupted, so this runner walks the same flow (same jobs, same ``Job.run``) but:

* skips every job whose content-derived uuid already has an output in the store
  (finished work is never repeated, in this campaign or in another one);
* keeps going when a job fails, skips only its descendants, and records the failure
  in the campaign manifest;
* prints one progress line per job with timings, and records what each job cost
  (wall and CPU time, MLIP force calls, peak memory) in its document
  (:data:`RUN_STATS_KEY`);
* runs independent jobs side by side in ``workers`` processes if asked
  (:mod:`lpsflow.dispatch.workers`);
* shares the store with other runners (another ``lpsflow run`` of the same or an
  overlapping campaign, FireWorks workers): each job is claimed before it runs
  (:mod:`lpsflow.dispatch.claims`), jobs another live runner holds are left to it
  and waited for, and those of a runner that died are taken over.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lpsflow.dispatch import usage
from lpsflow.dispatch.claims import POLL_S, Claim, Taken
from lpsflow.dispatch.processes import start_server
from lpsflow.dispatch.schedule import heights
from lpsflow.dispatch.workers import (
    JobResult,
    WorkerPool,
    describe_output,
    encode_resolved,
    exception_line,
    freeze_survivors,
    run_job,
    write_result,
)
from lpsflow.errors import StoreError
from lpsflow.flows.campaign import CampaignFlow, build_campaign
from lpsflow.status import RUN_STATS_KEY

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
    job_calculator_s: dict[str, float] = field(default_factory=dict)
    """Seconds each computed job spent inside the MLIP calculator."""
    force_calls: int = 0
    """MLIP energy/force evaluations in this run."""
    calculator_s: float = 0.0
    """Seconds spent inside the MLIP calculator in this run (all workers)."""
    workers: int = 1
    """Processes that ran jobs side by side."""
    job_span: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Start and end (``time.time()``) of each computed job."""
    job_cpu_s: dict[str, float] = field(default_factory=dict)
    """CPU seconds of each computed job (its process, all threads)."""
    worker_peak_rss_mb: float = 0.0
    """Largest peak memory (MB) of a worker process (0 without workers)."""
    elsewhere: list[str] = field(default_factory=list)
    """Jobs that other runners sharing the store computed while this one ran."""

    @property
    def job_s(self) -> dict[str, float]:
        """Wall seconds of each computed job."""
        return {uuid: end - start for uuid, (start, end) in self.job_span.items()}

    @property
    def ok(self) -> bool:
        """Every job finished (now or earlier)."""
        return not self.failed and not self.skipped


def finished_uuids(stores: Stores, uuids: list[str]) -> set[str]:
    """The uuids among ``uuids`` that have an output in the job store."""
    docs = stores.jobs.query({"uuid": {"$in": list(uuids)}}, properties=["uuid"])
    return {d["uuid"] for d in docs}


class SharedJobs:
    """A run's side of the store's claims: what other runners hold or did.

    :meth:`take` claims a job before it runs; a job another runner holds stays in
    :attr:`elsewhere` until that runner finishes it, fails it or is gone.
    """

    def __init__(self, stores: Stores, report: RunReport, echo: Callable) -> None:
        self.stores, self.claims = stores, stores.claims
        self.report, self.echo = report, echo
        self.elsewhere: dict[str, Claim] = {}
        self.threads = self.start_threads = 0  # torch threads of a serial run

    def take(self, job: Job) -> Taken:
        """Claim ``job``; what came of it (:class:`~lpsflow.dispatch.claims.Taken`)."""
        taken, other = self.claims.acquire(job.uuid, job.name, self._stored)
        waited = self.elsewhere.pop(job.uuid, None)
        if taken is Taken.HELD:
            if waited is None:
                self.echo(f"{job.name}: {other.who} computes it; waiting for it")
            self.elsewhere[job.uuid] = other
        elif taken is Taken.DONE:
            self.report.elsewhere.append(job.uuid)
        elif taken is Taken.FAILED:
            self.report.failed[job.uuid] = f"failed in {other.who}: {other.message}"
        elif other is not None and other.state == "running":
            self.echo(f"{job.name}: taken over from {other.who}, which is gone")
        return taken

    def done(self, job: Job) -> None:
        """``job``'s output is stored."""
        try:
            self.claims.finish(job.uuid)
        except StoreError as exc:  # taken over while it ran: stored by both
            self.echo(f"{job.name}: {exc}")

    def failed(self, job: Job, msg: str) -> None:
        """``job`` failed here."""
        try:
            self.claims.fail(job.uuid, msg)
        except StoreError as exc:
            self.echo(f"{job.name}: {exc}")

    def share_cores(self) -> None:
        """Give the next job its share of cores other runners on this host use too.

        Torch threads: one job per core at most, never more threads than the run
        started with (two runners of 2 threads each on 2 cores slowed each other
        down several-fold).
        """
        import torch

        from lpsflow.calculators import thread_share

        if self.threads == 0:
            self.threads = self.start_threads = torch.get_num_threads()
        others = self.claims.busy_here()
        wanted = max(1, self.start_threads // (1 + others))
        if wanted != self.threads:
            thread_share.use_threads(wanted, grew=wanted > self.threads)
            self.echo(
                f"{wanted} torch thread{'s' * (wanted > 1)} per job: {others} job"
                f"{'s' * (others != 1)} of other runners on this host"
            )
            self.threads = wanted

    def _stored(self, uuid: str) -> bool:
        return bool(finished_uuids(self.stores, [uuid]))


def write_manifest(
    stores: Stores, campaign: Campaign, cflow: CampaignFlow, **extra: Any
) -> None:
    """Record the campaign's definition and job roles (upsert by campaign name)."""
    with stores.claims.exclusive(f"manifest:{campaign.name}"):
        _write_manifest(stores, campaign, cflow, **extra)


def _write_manifest(
    stores: Stores, campaign: Campaign, cflow: CampaignFlow, **extra: Any
) -> None:
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


def _job_dir(workdir: Path, job: Job) -> Path:
    """The job's own directory under ``workdir`` (created)."""
    job_dir = workdir / _safe_dirname(job.name, job.uuid)
    job_dir.mkdir(parents=True, exist_ok=True)
    return job_dir


def run_flow(
    flow: Flow,
    stores: Stores,
    workdir: Path,
    on_failure: Callable[[Job, str], None] | None = None,
    echo: Callable[[str], None] = print,
    workers: int = 1,
) -> RunReport:
    """Run the unfinished jobs of ``flow`` in dependency order.

    With ``workers`` > 1 independent jobs run side by side in that many processes.
    Other runners may share ``stores``: each job is claimed before it runs
    (:class:`SharedJobs`).
    """
    from lpsflow.calculators.mlip import STATS

    t0 = time.perf_counter()
    calls0, calc0 = STATS.calls, STATS.seconds
    report = RunReport(workers=workers)
    jobs = list(flow.iterflow())
    report.total = len(jobs)
    done = finished_uuids(stores, [j.uuid for j, _ in jobs])
    report.reused = len(done)
    todo = [(j, p) for j, p in jobs if j.uuid not in done]
    if done:
        echo(f"{len(done)} of {len(jobs)} jobs already in the store: reused")
    workdir.mkdir(parents=True, exist_ok=True)
    run = _run_parallel if workers > 1 and len(todo) > 1 else _run_serial
    with stores.claims.session("lpsflow run"):
        shared = SharedJobs(stores, report, echo)
        run(todo, stores, workdir, report, on_failure, echo, shared)
    report.wall_s = time.perf_counter() - t0
    report.force_calls += STATS.calls - calls0
    report.calculator_s += STATS.seconds - calc0
    return report


def _failed(
    report: RunReport,
    job: Job,
    prefix: str,
    msg: str,
    tb: str,
    job_dir: Path,
    on_failure: Callable[[Job, str], None] | None,
    echo: Callable[[str], None],
) -> None:
    report.failed[job.uuid] = msg
    (job_dir / "error.txt").write_text(tb)
    echo(f"{prefix}: FAILED ({msg}); traceback in {job_dir / 'error.txt'}")
    if on_failure:
        on_failure(job, msg)


def _run_serial(
    todo: list[tuple[Job, list[str]]],
    stores: Stores,
    workdir: Path,
    report: RunReport,
    on_failure: Callable[[Job, str], None] | None,
    echo: Callable[[str], None],
    shared: SharedJobs,
) -> None:
    """Run the jobs one after another in this process, in flow order.

    A job another runner holds is passed over until it is stored (or its runner
    fails it or is gone); the jobs after it that do not need it run meanwhile.
    """
    pending = {job.uuid: (job, set(parents)) for job, parents in todo}
    waiting_on = set(pending)  # jobs of this run not stored yet
    bad: set[str] = set()
    n = 0
    while pending:
        ran = False
        for uuid, (job, parents) in list(pending.items()):
            if parents & bad:
                del pending[uuid]
                n += 1
                bad.add(uuid)
                waiting_on.discard(uuid)
                report.skipped.append(uuid)
                echo(f"[{n}/{len(todo)}] {job.name}: skipped (an input job failed)")
                continue
            if parents & waiting_on:
                continue
            taken = shared.take(job)
            if taken is Taken.HELD:
                continue
            del pending[uuid]
            n += 1
            prefix = f"[{n}/{len(todo)}] {job.name}"
            if taken is Taken.DONE:
                waiting_on.discard(uuid)
                echo(f"{prefix}: computed by another runner")
                continue
            if taken is Taken.FAILED:
                bad.add(uuid)
                waiting_on.discard(uuid)
                echo(f"{prefix}: {report.failed[uuid]}")
                continue
            shared.share_cores()
            if _run_here(
                job, prefix, stores, workdir, report, on_failure, echo, shared
            ):
                waiting_on.discard(uuid)
            else:
                bad.add(uuid)
                waiting_on.discard(uuid)
            ran = True
            break  # back to the first job left: flow order
        if pending and not ran:
            if not shared.elsewhere:  # cannot happen in a DAG; never spin
                raise RuntimeError("jobs wait on inputs no job produces")
            time.sleep(POLL_S)


def _run_here(
    job: Job,
    prefix: str,
    stores: Stores,
    workdir: Path,
    report: RunReport,
    on_failure: Callable[[Job, str], None] | None,
    echo: Callable[[str], None],
    shared: SharedJobs,
) -> bool:
    """Run a claimed job in this process; whether it succeeded."""
    from lpsflow.calculators import progress

    job_dir = _job_dir(workdir, job)
    meter, started = usage.JobMeter(), time.time()
    try:
        with (
            contextlib.chdir(job_dir),
            progress.running(job.name, job.uuid, job_dir),
        ):
            response = job.run(store=stores.jobs, job_dir=job_dir)
        if response.replace or response.addition or response.detour:
            raise RuntimeError("dynamic (Response) jobs are not run locally")
    except KeyboardInterrupt:
        echo(f"{prefix}: interrupted; finished work is kept, rerun to resume")
        raise
    except Exception as exc:
        msg = exception_line(exc)
        shared.failed(job, msg)
        tb = traceback.format_exc()
        _failed(report, job, prefix, msg, tb, job_dir, on_failure, echo)
        return False
    shared.done(job)  # its output is stored
    stats = meter.stats()
    report.job_span[job.uuid] = (started, started + stats["wall_s"])
    report.job_cpu_s[job.uuid] = stats["cpu_s"]
    report.job_calculator_s[job.uuid] = stats["calculator_s"]
    usage.record_stats(stores.jobs.docs_store, job.uuid, stats)
    report.completed.append(job.uuid)
    summary = describe_output(response.output)
    echo(f"{prefix}: done in {stats['wall_s']:.1f} s  {summary}")
    return True


def _run_parallel(
    todo: list[tuple[Job, list[str]]],
    stores: Stores,
    workdir: Path,
    report: RunReport,
    on_failure: Callable[[Job, str], None] | None,
    echo: Callable[[str], None],
    shared: SharedJobs,
) -> None:
    """Keep ``report.workers`` processes busy with jobs whose inputs are stored.

    Ready jobs start by the expected cost of their downstream chain
    (:func:`~lpsflow.dispatch.schedule.heights`); the parent resolves their inputs
    from the store and writes each finished job's documents back as soon as it
    returns. One job more than there are workers is
    kept in flight (queued, inputs resolved), so a worker that finishes starts its
    next job at once instead of waiting while the parent stores and resolves. A job
    another runner holds is passed over and looked at again every
    :data:`~lpsflow.dispatch.claims.POLL_S` seconds.
    """
    # the most expensive chain of downstream jobs first: the interface and GB -> NEB
    # chains start early and the short leaves fill the workers at the end
    height = heights(todo)
    order = sorted(todo, key=lambda jp: -height[jp[0].uuid])  # stable: flow order
    pending = {job.uuid: (job, set(parents)) for job, parents in order}
    parents_of = {job.uuid: parents for job, parents in order}
    waiting_on = set(pending)  # jobs of this run not finished yet
    bad: set[str] = set()
    running: dict[Future, tuple[Job, Path]] = {}
    names = list(stores.jobs.additional_stores)
    in_flight = report.workers + 1
    n = 0

    def start(pool: WorkerPool, job: Job) -> None:
        job_dir = _job_dir(workdir, job)
        try:
            resolved = encode_resolved(job, stores.jobs)
        except Exception as exc:
            nonlocal n
            n += 1
            bad.add(job.uuid)
            waiting_on.discard(job.uuid)
            msg = exception_line(exc)
            prefix = f"[{n}/{len(todo)}] {job.name}"
            shared.failed(job, msg)
            tb = traceback.format_exc()
            _failed(report, job, prefix, msg, tb, job_dir, on_failure, echo)
            return
        running[pool.submit(run_job, resolved, names, job_dir)] = (job, job_dir)

    with WorkerPool(report.workers) as pool:
        try:
            while pending or running:
                for uuid, (job, parents) in list(pending.items()):
                    if len(running) >= in_flight:
                        break
                    if parents & bad:
                        del pending[uuid]
                        n += 1
                        bad.add(uuid)
                        waiting_on.discard(uuid)
                        report.skipped.append(uuid)
                        echo(
                            f"[{n}/{len(todo)}] {job.name}: skipped (an input "
                            "job failed)"
                        )
                    elif not parents & waiting_on:
                        taken = shared.take(job)
                        if taken is Taken.HELD:
                            continue
                        del pending[uuid]
                        if taken is Taken.MINE:
                            start(pool, job)
                            continue
                        n += 1
                        waiting_on.discard(uuid)
                        prefix = f"[{n}/{len(todo)}] {job.name}"
                        if taken is Taken.DONE:
                            echo(f"{prefix}: computed by another runner")
                        else:
                            bad.add(uuid)
                            echo(f"{prefix}: {report.failed[uuid]}")
                if not running:
                    if not pending:
                        break
                    if not shared.elsewhere:  # cannot happen in a DAG; never spin
                        raise RuntimeError("jobs wait on inputs no job produces")
                    time.sleep(POLL_S)
                    continue
                # idle cores lent to the running jobs, those of other runners here
                # counted
                pool.running(len(running), shared.claims.busy_here())
                finished, _ = wait(
                    running,
                    timeout=POLL_S if shared.elsewhere else None,
                    return_when=FIRST_COMPLETED,
                )
                for future in finished:
                    job, job_dir = running.pop(future)
                    n += 1
                    prefix = f"[{n}/{len(todo)}] {job.name}"
                    result = _result(future, job)
                    report.force_calls += result.calls
                    report.calculator_s += result.calculator_s
                    report.worker_peak_rss_mb = max(
                        report.worker_peak_rss_mb, result.peak_rss_mb
                    )
                    if result.error is not None:
                        bad.add(job.uuid)
                        waiting_on.discard(job.uuid)
                        shared.failed(job, result.error)
                        _failed(
                            report,
                            job,
                            prefix,
                            result.error,
                            result.traceback or "",
                            job_dir,
                            on_failure,
                            echo,
                        )
                        continue
                    if not shared.claims.holds(job.uuid):  # another host's, now
                        n -= 1
                        echo(f"{prefix}: taken over by another runner meanwhile; "
                             "its result here is dropped")  # fmt: skip
                        pending[job.uuid] = (job, set(parents_of[job.uuid]))
                        continue
                    stats = usage.run_stats(
                        result.seconds,
                        result.cpu_s,
                        result.calls,
                        result.calculator_s,
                        result.job_peak_mb,
                    )
                    for doc in result.docs:
                        if doc.get("uuid") == result.uuid:
                            doc[RUN_STATS_KEY] = stats
                    write_result(stores.jobs, result)
                    shared.done(job)
                    freeze_survivors()  # the store's documents live on
                    waiting_on.discard(job.uuid)
                    report.job_span[job.uuid] = (
                        result.started,
                        result.started + result.seconds,
                    )
                    report.job_calculator_s[job.uuid] = result.calculator_s
                    report.job_cpu_s[job.uuid] = result.cpu_s
                    report.completed.append(job.uuid)
                    echo(f"{prefix}: done in {result.seconds:.1f} s  {result.summary}")
        except KeyboardInterrupt:
            echo("interrupted; finished work is kept, rerun to resume")
            raise


def _result(future: Future, job: Job) -> JobResult:
    """The worker's result, or a failure if the worker process itself died."""
    try:
        return future.result()
    except BrokenProcessPool as exc:
        msg = f"worker process died (out of memory?): {exc}"
        return JobResult(uuid=job.uuid, error=msg[:300], traceback=msg)
    except Exception as exc:  # e.g. the job could not be sent to the worker
        msg = exception_line(exc)
        return JobResult(uuid=job.uuid, error=msg, traceback=traceback.format_exc())


def run_campaign(
    campaign: Campaign,
    stores: Stores,
    workdir: Path | None = None,
    echo: Callable[[str], None] = print,
    cflow: CampaignFlow | None = None,
    workers: int = 1,
) -> RunReport:
    """Record the campaign's manifest and run what the store does not hold yet.

    ``cflow`` is the campaign's built flow (built here if not given); building it
    first validates every input before anything is written to the store.
    ``workers`` processes run independent jobs side by side
    (:func:`lpsflow.dispatch.processes.auto_workers` chooses for the CLI). A device
    other than the CPU that torch cannot use here is a :class:`ConfigError` before
    anything runs.
    """
    t0 = time.perf_counter()
    campaign.calculator.check_device()
    if workers > 1:
        start_server()  # imports for the workers while the flow is built
    cflow = cflow or build_campaign(campaign)
    echo(
        f"campaign '{campaign.name}': {', '.join(campaign.accelerants)}; "
        f"{len(cflow.flow.jobs)} jobs; store: {stores.location}; "
        f"calculator: {campaign.calculator.backend}"
        + (
            f" ({campaign.calculator.model} on {campaign.calculator.device})"
            if campaign.calculator.backend == "mlip"
            else ""
        )
        + (f"; {workers} worker processes" if workers > 1 else "")
    )
    write_manifest(stores, campaign, cflow)

    manifest = f"manifest:{campaign.name}"

    def record_failure(job: Job, msg: str) -> None:
        with stores.claims.exclusive(manifest):
            doc = stores.campaigns.query_one({"campaign": campaign.name})
            doc["failures"] = {**doc.get("failures", {}), job.uuid: msg}
            stores.campaigns.update([doc], key="campaign")

    workdir = workdir or campaign.resolve(campaign.workdir)
    report = run_flow(
        cflow.flow, stores, Path(workdir), record_failure, echo, workers=workers
    )
    # clear failures of jobs that have since finished
    with stores.claims.exclusive(manifest):
        doc = stores.campaigns.query_one({"campaign": campaign.name})
        finished = finished_uuids(stores, list(doc.get("failures", {})))
        if finished:
            doc["failures"] = {
                k: v for k, v in doc["failures"].items() if k not in finished
            }
            stores.campaigns.update([doc], key="campaign")
    report.wall_s = time.perf_counter() - t0
    return report
