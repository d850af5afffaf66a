"""The jobs a campaign's Makers create: each stamped with its id and its role.

Every flow Maker of lpsflow adds its jobs through the active :class:`JobBook`
(:func:`current_book`), which gives each job its content-derived uuid before
anything references it (:func:`lpsflow.jobs.identity.stamp`), records its role
and keeps one job per calculation (a job asked for twice is the same job). A
campaign opens one book for all its Makers (salted with the calculator's
settings); a Maker used on its own gets a fresh, unsalted one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from jobflow import Flow

from lpsflow.jobs.identity import stamp

if TYPE_CHECKING:
    from jobflow import Job

    from lpsflow.roles import Role


class JobBook:
    """Jobs with their ids and roles, in the order they were added.

    ``salt``: what identifies the calculator beyond the makers' settings (e.g. the
    MLIP package version); calculation jobs are keyed by it, lpsflow's own analysis
    jobs (``salt=False`` in :meth:`add`) by their inputs and kind version only.
    """

    def __init__(self, salt: Any = None) -> None:
        self.salt = salt
        self.jobs: list[Job] = []
        self.roles: dict[str, str] = {}
        """Role text -> job uuid."""
        self.analysis: set[str] = set()
        """Uuids of the analysis jobs (keyed without the salt)."""
        self.maker_names: dict[str, str] = {}
        """Uuid -> its maker's name as the job was made (lpsflow 0.1.0's ids)."""
        self._by_uuid: dict[str, Job] = {}

    def add(
        self, job: Job, role: Role, name: str | None = None, salt: bool = True
    ) -> Job:
        """Stamp ``job`` and record it under ``role``; the job to use downstream."""
        text = str(role)
        maker = getattr(job.function, "__self__", None)
        stamp(job, role=text, salt=self.salt if salt else None)
        if not salt:
            self.analysis.add(job.uuid)
        if maker is not None:  # before ``name`` renames it: 0.1.0's ids read it
            self.maker_names.setdefault(job.uuid, maker.name)
        self.roles[text] = job.uuid
        if job.uuid in self._by_uuid:  # the same calculation asked for twice
            return self._by_uuid[job.uuid]
        if name:
            job.name = name
        self.jobs.append(job)
        self._by_uuid[job.uuid] = job
        return job

    def job(self, role: Role) -> Job | None:
        """The job recorded under ``role`` (None: no such job)."""
        uuid = self.roles.get(str(role))
        return self._by_uuid.get(uuid) if uuid else None

    def flow_since(self, start: int, output: Any, name: str) -> Flow:
        """The jobs added since ``len(self.jobs)`` was ``start``, as one Flow."""
        return Flow(self.jobs[start:], output=output, name=name)

    @staticmethod
    def take(flow: Flow) -> Any:
        """A Maker's flow taken into the campaign's flat job list: its output.

        The campaign runs one flat list of jobs (the local runner and a FireWorks
        submission of the jobs still missing both need that, and a jobflow job
        belongs to one Flow), so the Maker's Flow releases its jobs.
        """
        for job in flow.jobs:
            job.hosts = [h for h in job.hosts if h != flow.uuid]
        return flow.output

    @contextmanager
    def active(self) -> Iterator[JobBook]:
        """Make this the book every Maker adds to, inside the ``with`` block."""
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)


_ACTIVE: ContextVar[JobBook | None] = ContextVar("lpsflow_job_book", default=None)


def current_book() -> JobBook:
    """The active book, or a fresh unsalted one (a Maker used on its own)."""
    return _ACTIVE.get() or JobBook()
