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
import functools
import re
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lpsflow.dispatch import same, usage
from lpsflow.dispatch.adopt import adopt_legacy
from lpsflow.dispatch.claims import POLL_S
from lpsflow.dispatch.expansion import Growth, added, expand_finished, hook_of
from lpsflow.dispatch.processes import start_server
from lpsflow.dispatch.schedule import heights
from lpsflow.dispatch.sharing import RunBook, SharedJobs, finished_uuids
from lpsflow.dispatch.workers import (
    JobResult,
    WorkerPool,
    check_response,
    describe_output,
    encode_resolved,
    exception_line,
    freeze_survivors,
    run_job,
    write_result,
)
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
    same: dict[str, str] = field(default_factory=dict)
    """Calculations stored already under another job's id, copied: uuid -> that
    job's uuid (:mod:`lpsflow.dispatch.same`)."""

    @property
    def job_s(self) -> dict[str, float]:
        """Wall seconds of each computed job."""
        return {uuid: end - start for uuid, (start, end) in self.job_span.items()}

    @property
    def ok(self) -> bool:
        """Every job finished (now or earlier)."""
        return not self.failed and not self.skipped


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
    # what finished expanding jobs added (a resume after their decision)
    growth = Growth(stores, (j.uuid for j, _ in jobs))
    todo += growth.take(expand_finished(stores, [j for j, _ in jobs if j.uuid in done]))
    if growth.added:
        echo(f"{growth.added} jobs added by the stored decisions of expanding jobs")
    reused = len(done) + growth.reused
    if reused:
        echo(
            f"{reused} of {len(jobs) + growth.added} jobs already in the store: reused"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    run = _run_parallel if workers > 1 and len(todo) > 1 else _run_serial
    with stores.claims.session("lpsflow run"):
        shared = SharedJobs(stores, report, echo)
        run(todo, stores, workdir, report, on_failure, echo, shared, growth)
    report.total = len(jobs) + growth.added  # expanding jobs' additions included
    report.reused = len(done) + growth.reused
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
    growth: Growth,
) -> None:
    """Run the jobs one after another in this process, in flow order.

    A job another runner holds is passed over until it is stored (or its runner
    fails it or is gone); the jobs after it that do not need it run meanwhile.
    """
    book = RunBook({job.uuid: (job, set(p)) for job, p in todo}, report, echo, shared)
    while book.pending:
        job = next(book.claimable(), None)  # from the first job left: flow order
        if job is None:
            if book.pending:
                book.wait_elsewhere()
            continue
        shared.share_cores()
        ok = _run_here(
            job, book.prefix(job), stores, workdir, report, on_failure, echo, shared
        )
        if ok and hook_of(job) is not None:
            _grow(book, growth, job, stores.jobs.get_output(job.uuid, load=True), echo)
        book.settle(job.uuid, ok)


def _grow(
    book: RunBook, growth: Growth, job: Job, output: Any, echo: Callable[[str], None]
) -> None:
    """Add to the run the jobs an expanding job's output asks for."""
    before = growth.added
    todo = growth.take(added(job, output))
    book.add(todo)
    new = growth.added - before
    if new:
        echo(
            f"{job.name}: adds {new} jobs ({new - len(todo)} of them in the store "
            "already)"
        )


def _copy_same(
    job: Job,
    prefix: Callable[[], str],
    stores: Stores,
    report: RunReport,
    shared: SharedJobs,
    echo: Callable[[str], None],
) -> tuple[str | None, bool]:
    """Copy a claimed calculation stored already under another id.

    Returns (its resolved id, whether it was copied instead of run:
    :mod:`lpsflow.dispatch.same`).
    """
    rid = same.resolved_id(job, stores.jobs)
    source = same.reuse(stores.jobs, job, rid)
    if source is None:
        return rid, False
    shared.done(job)
    report.same[job.uuid] = source
    echo(f"{prefix()}: {same.describe(source, stores.jobs)}")
    return rid, True


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

    rid, copied = _copy_same(job, lambda: prefix, stores, report, shared, echo)
    if copied:
        return True
    job_dir = _job_dir(workdir, job)
    meter, started = usage.JobMeter(), time.time()
    try:
        with (
            contextlib.chdir(job_dir),
            progress.running(job.name, job.uuid, job_dir),
        ):
            response = job.run(store=stores.jobs, job_dir=job_dir)
        check_response(job, response)
    except KeyboardInterrupt:
        echo(f"{prefix}: interrupted; finished work is kept, rerun to resume")
        raise
    except Exception as exc:
        msg = exception_line(exc)
        shared.failed(job, msg)
        tb = traceback.format_exc()
        _failed(report, job, prefix, msg, tb, job_dir, on_failure, echo)
        return False
    same.record(stores.jobs, job.uuid, rid)
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
    growth: Growth,
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
    book = RunBook({job.uuid: (job, set(p)) for job, p in order}, report, echo, shared)
    running: dict[Future, tuple[Job, Path]] = {}
    rids: dict[str, str | None] = {}  # resolved ids of the jobs running
    names = list(stores.jobs.additional_stores)
    in_flight = report.workers + 1

    def start(pool: WorkerPool, job: Job) -> None:
        line = functools.partial(book.prefix, job)  # counted only when copied
        rid, copied = _copy_same(job, line, stores, report, shared, echo)
        if copied:
            book.settle(job.uuid, ok=True)
            if hook_of(job) is not None:
                _grow(
                    book, growth, job, stores.jobs.get_output(job.uuid, load=True), echo
                )
            return
        job_dir = _job_dir(workdir, job)
        try:
            resolved = encode_resolved(job, stores.jobs)
        except Exception as exc:
            book.settle(job.uuid, ok=False)
            msg = exception_line(exc)
            shared.failed(job, msg)
            tb = traceback.format_exc()
            prefix = book.prefix(job)
            _failed(report, job, prefix, msg, tb, job_dir, on_failure, echo)
            return
        running[pool.submit(run_job, resolved, names, job_dir)] = (job, job_dir)
        rids[job.uuid] = rid

    with WorkerPool(report.workers) as pool:
        try:
            while book.pending or running:
                if len(running) < in_flight:
                    for job in book.claimable():
                        start(pool, job)
                        if len(running) >= in_flight:
                            break
                if not running:
                    if book.pending:
                        book.wait_elsewhere()
                        continue
                    break
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
                    result = _result(future, job)
                    report.force_calls += result.calls
                    report.calculator_s += result.calculator_s
                    report.worker_peak_rss_mb = max(
                        report.worker_peak_rss_mb, result.peak_rss_mb
                    )
                    if result.error is None and not shared.claims.holds(job.uuid):
                        echo(
                            f"{job.name}: taken over by another runner meanwhile; "
                            "its result here is dropped"
                        )  # another host's runner, after a stale heartbeat
                        book.pending[job.uuid] = (job, book.parents[job.uuid])
                        continue
                    prefix = book.prefix(job)
                    if result.error is not None:
                        book.settle(job.uuid, ok=False)
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
                    same.record(stores.jobs, job.uuid, rids.pop(job.uuid, None))
                    shared.done(job)
                    freeze_survivors()  # the store's documents live on
                    if hook_of(job) is not None:
                        output = stores.jobs.get_output(job.uuid, load=True)
                        _grow(book, growth, job, output, echo)
                    book.settle(job.uuid, ok=True)
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
        f"{len(cflow.jobs)} jobs; store: {stores.location}; "
        f"calculator: {campaign.calculator.backend}"
        + (
            f" ({campaign.calculator.model} on {campaign.calculator.device})"
            if campaign.calculator.backend == "mlip"
            else ""
        )
        + (f"; {workers} worker processes" if workers > 1 else "")
    )
    adopted = adopt_legacy(stores, cflow)
    if adopted:
        echo(f"{adopted} results stored under earlier job ids reused under today's")
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
