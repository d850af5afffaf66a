"""Claims: which runner computes which job, so runners sharing a store never repeat it.

Several runners may serve one results store at once: two ``lpsflow run`` of the same
campaign, a local run beside FireWorks workers, two users' campaigns that share jobs.
Before a runner computes a job it *claims* the job's uuid, atomically, in the store
itself: a table ``claims`` in ``claims.sqlite`` inside an embedded store's folder
(sqlite's own locking makes ``INSERT`` and a conditional ``UPDATE`` atomic between
processes), a collection ``lpsflow_claims`` in a MongoDB store's database (a unique
``_id`` and ``find``-and-update do the same). A claim names its runner: a random id,
the host, the process id and that process's start time, and what kind of runner it
is. A runner

* computes a job only while it holds the job's claim, and marks the claim ``done``
  once the job's output is stored; a runner that meets a ``done`` claim (or one whose
  runner died) looks whether the output is stored before it computes anything, so a
  job is computed once and its documents are written once;
* leaves a job another live runner holds to that runner, and waits for it (runs
  other work first); :data:`STATE_FAILED` claims tell it that the job failed there;
* takes a claim over when its holder is gone: on the same host at once (the
  process is gone, or its id now belongs to another process), from another host
  when the holder's heartbeat (:data:`BEAT_S`, refreshed by a thread of each runner)
  is older than :data:`STALE_S`.

A failed job's claim stays (state ``failed``) so that runners already running skip
its descendants; a runner started after the failure tries the job again, as a
resumed run always has.

Limits: "the same host" is the same host name (containers that share one but not
their process ids would see each other's runners as gone); a runner on another host
that is only slow (its heartbeat stopped for :data:`STALE_S`) loses its claims, and
the job is computed twice (its documents are still written once: they are upserted
by uuid and index, and a local run with workers drops a result whose claim it lost).

Written by hand: neither jobflow's local manager nor FireWorks coordinates runners
that do not share a LaunchPad (FireWorks' own ``checkout_fw`` is atomic only among
the workers of one LaunchPad, and knows nothing of ``lpsflow run``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import threading
import time
import uuid as uuidlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from lpsflow.dispatch.processes import pid_alive, process_start
from lpsflow.errors import StoreError

#: Seconds between two heartbeats of a runner's claims.
BEAT_S = float(os.environ.get("LPSFLOW_CLAIM_BEAT_S", "20"))
#: A claim from another host whose heartbeat is older than this is taken over (s).
STALE_S = float(os.environ.get("LPSFLOW_CLAIM_STALE_S", "120"))
#: Seconds between two looks at a job another runner holds.
POLL_S = 2.0

#: State of a claim whose job runs.
STATE_RUNNING = "running"
#: State of a claim whose job failed (kept until a later runner retries it).
STATE_FAILED = "failed"
#: State of a claim whose job's output is stored.
STATE_DONE = "done"

#: Prefix of the keys of :meth:`Claims.exclusive` locks (not jobs).
LOCK_PREFIX = "lock:"


class Taken(StrEnum):
    """What :meth:`Claims.acquire` found."""

    MINE = "mine"
    """This runner holds the claim now: compute the job."""
    HELD = "held"
    """Another live runner holds it: its job runs there."""
    FAILED = "failed"
    """The job failed in another runner since this runner started."""
    DONE = "done"
    """Another runner computed the job: its output is stored."""


@dataclass(frozen=True)
class Runner:
    """One process that computes jobs of a store."""

    id: str
    host: str
    pid: int
    pid_start: int | None
    kind: str
    """``lpsflow run``, ``FireWorks worker``, ..."""
    since: float
    """When it started claiming (``time.time()``)."""

    @classmethod
    def this_process(cls, kind: str) -> Runner:
        """The current process as a runner of ``kind``."""
        pid = os.getpid()
        return cls(
            id=uuidlib.uuid4().hex,
            host=socket.gethostname(),
            pid=pid,
            pid_start=process_start(pid),
            kind=kind,
            since=time.time(),
        )


@dataclass
class Claim:
    """One job's claim as stored."""

    uuid: str
    name: str
    runner: str
    host: str
    pid: int
    pid_start: int | None
    kind: str
    started: float
    """When its runner started."""
    since: float
    """When the claim was taken."""
    beat: float
    """Its holder's last heartbeat (or when it failed)."""
    state: str = STATE_RUNNING
    message: str = ""
    """A failed job's error."""
    took_over: str = ""
    """The runner whose claim this one took over, if any."""
    alive: bool | None = field(default=None, compare=False)
    """Whether its holder runs (filled in by :meth:`Claims.held`)."""

    @property
    def who(self) -> str:
        """Its holder, for messages: ``lpsflow run (pid 123 on node1)``."""
        return f"{self.kind} (pid {self.pid} on {self.host})"

    @property
    def started_utc(self) -> str:
        """When its runner started, ``YYYY-MM-DD HH:MM:SS`` in UTC."""
        return dt.datetime.fromtimestamp(self.started, dt.UTC).strftime(
            "%Y-%m-%d %H:%M:%S"
        )

    def row(self) -> dict[str, Any]:
        """The stored fields."""
        data = asdict(self)
        data.pop("alive")
        return data


CLAIM_FIELDS = tuple(f for f in Claim.__dataclass_fields__ if f != "alive")


class Claims(ABC):
    """The claims of one store, seen by one runner (subclasses store them)."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.runner: Runner | None = None
        self._locks: set[str] = set()

    # -- what a backend provides -------------------------------------------------
    @abstractmethod
    def _insert(self, row: dict) -> bool:
        """Store ``row`` unless a claim of its uuid exists; whether it was stored."""

    @abstractmethod
    def _get(self, uuid: str) -> dict | None:
        """The claim of ``uuid``, if any."""

    @abstractmethod
    def _replace(self, old: dict, row: dict) -> bool:
        """Replace the claim ``old`` by ``row`` if it is unchanged; whether done."""

    @abstractmethod
    def _set(self, uuid: str, runner: str, fields: dict) -> bool:
        """Update ``runner``'s own claim of ``uuid``; whether it held one."""

    @abstractmethod
    def _delete(self, uuid: str, runner: str) -> None:
        """Delete ``runner``'s claim of ``uuid``, if it holds one."""

    @abstractmethod
    def _release_all(self, runner: str) -> None:
        """Delete ``runner``'s claims of running jobs."""

    @abstractmethod
    def _beat(self, runner: str, now: float) -> None:
        """Refresh the heartbeat of ``runner``'s claims of running jobs."""

    @abstractmethod
    def _rows(self, state: str) -> list[dict]:
        """The claims in ``state``."""

    # -- the protocol ------------------------------------------------------------
    @contextlib.contextmanager
    def session(self, kind: str, heartbeat: bool = True) -> Iterator[Claims]:
        """Claim as this process (a runner of ``kind``) while the block runs.

        A thread refreshes the claims' heartbeat (without ``heartbeat``: claims
        held for moments only, such as a lock); on leaving, the claims of jobs
        still running (interrupted) are released, those of failed and done jobs
        kept. One thread claims through one ``Claims`` object.
        """
        if self.runner is not None:  # nested: the outer session holds the claims
            yield self
            return
        self.runner = Runner.this_process(kind)
        stop = threading.Event()
        thread = threading.Thread(target=self._heartbeat, args=(stop,), daemon=True)
        if heartbeat:
            thread.start()
        try:
            yield self
        finally:
            stop.set()
            if heartbeat:
                thread.join(timeout=5)
            with contextlib.suppress(Exception):  # a store gone: the beat goes stale
                self._release_all(self.runner.id)
            self.runner = None

    def _heartbeat(self, stop: threading.Event) -> None:
        runner = self.runner
        while not stop.wait(BEAT_S):
            with contextlib.suppress(Exception):  # the next beat tries again
                self._beat(runner.id, time.time())

    def acquire(
        self, uuid: str, name: str = "", stored: Callable[[str], bool] | None = None
    ) -> tuple[Taken, Claim | None]:
        """Claim job ``uuid`` for this runner, or say who has it.

        ``stored(uuid)`` says whether the job's output is in the store; it is asked
        only where another runner had the job (it finished there, or its runner
        died after storing it), never for a job no runner has claimed. Returns what
        was found and the other runner's claim (with ``MINE``: the claim taken over,
        from a runner that is gone or a job whose output has gone, if any).
        """
        runner = self._runner()
        now = time.time()
        mine = Claim(
            uuid=uuid,
            name=name,
            runner=runner.id,
            host=runner.host,
            pid=runner.pid,
            pid_start=runner.pid_start,
            kind=runner.kind,
            started=runner.since,
            since=now,
            beat=now,
        )
        for _ in range(10):
            if self._insert(mine.row()):
                return Taken.MINE, None
            row = self._get(uuid)
            if row is None:  # released meanwhile: try again
                continue
            held = claim_from(row)
            if held.runner == runner.id and held.state == STATE_RUNNING:
                return Taken.MINE, None
            if held.state == STATE_FAILED and held.beat >= runner.since:
                return Taken.FAILED, held  # failed while this runner runs
            if held.state == STATE_RUNNING and self.holder_alive(held):
                return Taken.HELD, held
            if held.state != STATE_FAILED and stored is not None and stored(uuid):
                if held.state == STATE_RUNNING:  # stored, then its runner died
                    self._replace(row, {**row, "state": STATE_DONE})
                return Taken.DONE, held
            # failed before this runner started (try again), holder gone, or the
            # output of a done job removed since: compute it here
            mine.took_over = held.runner
            if self._replace(row, mine.row()):
                return Taken.MINE, held
        raise StoreError(
            f"cannot claim job {uuid} in {self.location}: it keeps changing"
        )

    def finish(self, uuid: str) -> None:
        """Record that job ``uuid``'s output is stored."""
        self._set_state(uuid, STATE_DONE)

    def fail(self, uuid: str, message: str) -> None:
        """Record that job ``uuid`` failed in this runner."""
        self._set_state(uuid, STATE_FAILED, message)

    def release(self, uuid: str) -> None:
        """Give job ``uuid`` up unfinished (it will not run here after all)."""
        self._delete(uuid, self._runner().id)

    def _set_state(self, uuid: str, state: str, message: str = "") -> None:
        fields = {"state": state, "message": message, "beat": time.time()}
        if not self._set(uuid, self._runner().id, fields):
            raise StoreError(
                f"job {uuid} is no longer claimed by this runner in {self.location} "
                "(taken over by another runner?)"
            )

    def holds(self, uuid: str) -> bool:
        """Whether this runner still holds job ``uuid`` (not taken over meanwhile)."""
        row = self._get(uuid)
        return row is not None and row["runner"] == self._runner().id

    @contextlib.contextmanager
    def exclusive(self, key: str, timeout_s: float | None = None) -> Iterator[None]:
        """Hold ``key`` (not a job: a lock, e.g. a manifest's) while the block runs.

        Re-entrant. A lock whose holder died is taken over as a job's claim is;
        the default ``timeout_s`` outlasts a stale claim of another host.
        """
        if key in self._locks:  # held by this object already: the outer block's
            yield
            return
        timeout_s = timeout_s or STALE_S + 3 * BEAT_S + 60
        with self.session("lpsflow", heartbeat=False):
            deadline, wait = time.monotonic() + timeout_s, 0.02
            while self.acquire(LOCK_PREFIX + key, key)[0] != Taken.MINE:
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"waited {timeout_s:.0f} s for {key} in {self.location}"
                    )
                time.sleep(wait)
                wait = min(2 * wait, 1.0)
            self._locks.add(key)
            try:
                yield
            finally:
                self._locks.discard(key)
                self._delete(LOCK_PREFIX + key, self._runner().id)

    def holder_alive(self, claim: Claim) -> bool:
        """Whether the runner holding ``claim`` still runs."""
        if claim.host == socket.gethostname():
            return pid_alive(claim.pid, claim.pid_start)
        return time.time() - claim.beat < STALE_S

    def busy_here(self) -> int:
        """Jobs other live runners compute on this host now (they share its cores)."""
        me = self._runner()
        return sum(
            1
            for row in self._rows(STATE_RUNNING)
            if row["host"] == me.host
            and row["runner"] != me.id
            and not row["uuid"].startswith(LOCK_PREFIX)
            and pid_alive(row["pid"], row.get("pid_start"))
        )

    def held(self) -> list[Claim]:
        """The claims of running and failed jobs, each with whether its holder runs."""
        claims = []
        for row in self._rows(STATE_RUNNING) + self._rows(STATE_FAILED):
            if row["uuid"].startswith(LOCK_PREFIX):
                continue
            claim = claim_from(row)
            claim.alive = self.holder_alive(claim)
            claims.append(claim)
        return sorted(claims, key=lambda c: (c.since, c.uuid))

    def _runner(self) -> Runner:
        if self.runner is None:
            raise RuntimeError("claims are taken inside Claims.session()")
        return self.runner


def claim_from(row: dict) -> Claim:
    """A :class:`Claim` from a stored row (unknown keys left out)."""
    return Claim(**{k: row.get(k) for k in CLAIM_FIELDS if k in row})
