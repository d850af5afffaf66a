"""Jobs that add work: what comes next is decided by their stored output.

A job function marked :func:`expands` returns its decision (a result document);
the mark's hook builds the jobs that decision asks for from the decision as
stored. Because the hook reads only the stored output, every runner gets the same
jobs (content-addressed ids) from it:

* on FireWorks the job's firetask adds them to the workflow as it finishes
  (:class:`~lpsflow.dispatch.firetask.CampaignJobFiretask`), or when it finds
  the job computed elsewhere;
* ``lpsflow run`` adds them to its run when the job finishes, and on a resume
  from the stored outputs of the expanding jobs it finds finished, so a run that
  was killed after a decision picks up the work it added.

The hook is a function of the output only (no store, no clock), so deciding twice
adds the same jobs, and jobs finished already are reused like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from monty.json import jsanitize

if TYPE_CHECKING:
    from jobflow import Flow, Job

    from lpsflow.store import Stores

F = TypeVar("F", bound=Callable)

#: output (as stored: a plain dict) -> the jobs it asks for (None: nothing more).
Hook = Callable[[dict[str, Any]], "Flow | None"]


def expands(hook: Hook) -> Callable[[F], F]:
    """Mark a job function (below ``@job``) whose output adds ``hook(output)``.

    The job returns its decision only: jobflow refuses a ``Response`` addition
    whose jobs read jobs outside it, which the added work always does, so the
    runners add the hook's jobs themselves.
    """

    def mark(function: F) -> F:
        function.lpsflow_expand = hook  # type: ignore[attr-defined]
        return function

    return mark


def hook_of(job: Job) -> Hook | None:
    """The expansion hook of ``job``'s function, if it has one."""
    return getattr(job.function, "lpsflow_expand", None)


def as_stored(output: Any) -> dict[str, Any]:
    """An output as the store holds it (what a hook reads)."""
    return jsanitize(output, strict=True, allow_bson=True, enum_values=True)


def addition(job: Job, output: Any) -> Flow | None:
    """The jobs ``job``'s output asks for (None: none, or not an expanding job)."""
    hook = hook_of(job)
    return hook(as_stored(output)) if hook is not None else None


def added(job: Job, output: Any) -> list[tuple[Job, list[str]]]:
    """The added jobs with their parents' uuids, in dependency order."""
    flow = addition(job, output)
    return list(flow.iterflow()) if flow is not None else []


def expand_finished(stores: Stores, jobs: Iterable[Job]) -> list[tuple[Job, list[str]]]:
    """The jobs added by the finished expanding jobs among ``jobs`` (one level)."""
    from lpsflow.dispatch.sharing import finished_uuids

    expanding = [job for job in jobs if hook_of(job) is not None]
    if not expanding:
        return []
    done = finished_uuids(stores, [job.uuid for job in expanding])
    out: list[tuple[Job, list[str]]] = []
    for job in expanding:
        if job.uuid in done:
            out += added(job, stores.jobs.get_output(job.uuid, load=True))
    return out


class Growth:
    """A run's jobs as expanding jobs add to them.

    ``known``: the uuids in the run so far.
    """

    def __init__(self, stores: Stores, known: Iterable[str]) -> None:
        self.stores = stores
        self.known = set(known)
        self.added = 0
        """Jobs added to the run."""
        self.reused = 0
        """Of them, finished already."""

    def take(self, pairs: list[tuple[Job, list[str]]]) -> list[tuple[Job, list[str]]]:
        """The new jobs among ``pairs`` still to run, with their parents.

        Jobs finished already are reused; those that expand add their jobs in turn.
        """
        from lpsflow.dispatch.sharing import finished_uuids

        todo: list[tuple[Job, list[str]]] = []
        while pairs:
            new = [(j, p) for j, p in pairs if j.uuid not in self.known]
            self.known.update(j.uuid for j, _ in new)
            done = (
                finished_uuids(self.stores, [j.uuid for j, _ in new]) if new else set()
            )
            self.added += len(new)
            self.reused += len(done)
            todo += [(j, p) for j, p in new if j.uuid not in done]
            pairs = expand_finished(self.stores, [j for j, _ in new if j.uuid in done])
        return todo
