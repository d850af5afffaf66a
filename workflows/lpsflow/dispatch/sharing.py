"""A local run's side of sharing a store: claiming jobs, and its book of them.

:class:`SharedJobs` claims each job before the run computes it
(:mod:`lpsflow.dispatch.claims`) and says what other runners hold or did;
:class:`RunBook` keeps the run's jobs not settled yet and hands the serial and the
parallel runner their next claimed jobs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lpsflow.dispatch.claims import POLL_S, STATE_RUNNING, Claim, Taken
from lpsflow.errors import StoreError

if TYPE_CHECKING:
    from jobflow import Job

    from lpsflow.dispatch.local import RunReport
    from lpsflow.store import Stores


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
        elif other is not None and other.state == STATE_RUNNING:
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


@dataclass
class RunBook:
    """The jobs of one run not settled yet, and the count each progress line shows.

    Both runners (serial, parallel) take their next jobs from :meth:`claimable`.
    """

    pending: dict[str, tuple[Job, set[str]]]
    """Jobs not started, in the order to start them, with their parents."""
    report: RunReport
    echo: Callable[[str], None]
    shared: SharedJobs
    waiting_on: set[str] = field(default_factory=set)
    """Jobs of this run whose output is not stored yet."""
    bad: set[str] = field(default_factory=set)
    """Jobs failed or skipped: their descendants are skipped."""
    total: int = 0
    n: int = 0

    parents: dict[str, set[str]] = field(default_factory=dict)
    """Every job's parents, added ones included."""

    def __post_init__(self) -> None:
        self.waiting_on = set(self.pending)
        self.total = len(self.pending)
        self.parents = {uuid: parents for uuid, (_, parents) in self.pending.items()}

    def add(self, jobs: list[tuple[Job, list[str]]]) -> None:
        """Jobs an expanding job added while the run goes: pending, at the end."""
        for job, parents in jobs:
            if job.uuid not in self.parents:
                self.pending[job.uuid] = (job, set(parents))
                self.parents[job.uuid] = set(parents)
                self.waiting_on.add(job.uuid)
                self.total += 1

    def prefix(self, job: Job) -> str:
        """The next progress line's start: ``[n/total] job name``."""
        self.n += 1
        return f"[{self.n}/{self.total}] {job.name}"

    def settle(self, uuid: str, ok: bool) -> None:
        """Job ``uuid`` is stored (``ok``), or failed or was skipped."""
        self.waiting_on.discard(uuid)
        if not ok:
            self.bad.add(uuid)

    def claimable(self) -> Iterator[Job]:
        """The jobs to run here now, in order, each claimed for this run.

        On the way, jobs whose input failed are skipped (unless they take a
        missing input as None, as jobflow's ``OnMissing.NONE``) and jobs another runner
        finished or failed are settled; jobs another runner holds, or whose
        inputs are not stored yet, stay pending.
        """
        from jobflow.core.reference import OnMissing

        for uuid, (job, parents) in list(self.pending.items()):
            tolerant = job.config.on_missing_references != OnMissing.ERROR
            if parents & self.bad and not tolerant:  # a tolerant job reads None
                del self.pending[uuid]
                self.report.skipped.append(uuid)
                self.echo(f"{self.prefix(job)}: skipped (an input job failed)")
                self.settle(uuid, ok=False)
                continue
            if parents & self.waiting_on:
                continue
            taken = self.shared.take(job)
            if taken is Taken.HELD:
                continue
            del self.pending[uuid]
            if taken is Taken.MINE:
                yield job
            elif taken is Taken.DONE:
                self.echo(f"{self.prefix(job)}: computed by another runner")
                self.settle(uuid, ok=True)
            else:
                self.echo(f"{self.prefix(job)}: {self.report.failed[uuid]}")
                self.settle(uuid, ok=False)

    def wait_elsewhere(self) -> None:
        """Nothing to run here now: wait for the jobs other runners hold."""
        if not self.shared.elsewhere:  # cannot happen in a DAG; never spin
            raise RuntimeError("jobs wait on inputs no job produces")
        time.sleep(POLL_S)
