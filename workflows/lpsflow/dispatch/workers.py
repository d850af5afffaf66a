"""Worker processes for parallel local runs.

On a workstation the campaign's independent jobs (the accelerants' doped cells,
interfaces, grain boundaries and NEBs) can run side by side. A small MLIP cell keeps
one core busy far better than two: on 2 cores two 128-atom CHGNet evaluations in two
one-thread processes give 1.4x the throughput of one evaluation on two threads.

Only the parent process touches the campaign's store (montydb is not safe for
concurrent writers): it resolves a job's inputs, sends the resolved job to a worker,
and writes back the documents that the worker's in-memory JobStore received, blobs
before the job document, so a stored output is always complete. The worker runs the
job with jobflow's own ``Job.run``, so outputs are stored exactly as in a serial run.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import threading
import time
import traceback
import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monty.json import MontyDecoder, MontyEncoder

from lpsflow.calculators import thread_share
from lpsflow.calculators.outputs import summarize
from lpsflow.dispatch.processes import (  # noqa: F401  (re-exported)
    MAX_AUTO_WORKERS,
    auto_workers,
    context,
    cpu_count,
)
from lpsflow.dispatch.stored_json import is_object, is_pydantic, with_structures
from lpsflow.dispatch.usage import JobMeter, peak_rss_mb
from lpsflow.speedups import enabled

if TYPE_CHECKING:
    from jobflow import Job, JobStore


def describe_output(output: Any) -> str:
    """One-line summary of a job's output for the progress line."""
    try:
        s = summarize(output)
    except Exception:
        energy = getattr(output, "energy_per_atom", None)
        return f"dE_r = {energy:+.4f} eV/atom" if isinstance(energy, float) else ""
    flag = "converged" if s.converged else "NOT CONVERGED"
    steps = f", {s.n_steps} steps" if s.n_steps else ""
    return f"E = {s.energy_per_atom:.4f} eV/atom ({flag}{steps})"


def exception_line(exc: BaseException) -> str:
    """A failed job's exception as one progress/manifest line."""
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


@dataclass
class JobResult:
    """What a worker sends back for one job."""

    uuid: str
    docs: list[dict] = field(default_factory=list)
    """Documents for the JobStore's docs store."""
    blobs: dict[str, list[dict]] = field(default_factory=dict)
    """Additional store name -> blob documents."""
    summary: str = ""
    seconds: float = 0.0
    """Wall time of the job in the worker."""
    started: float = 0.0
    """When the worker started the job (``time.time()``)."""
    cpu_s: float = 0.0
    """CPU time of the job in the worker (all its threads)."""
    calls: int = 0
    """MLIP force calls of the job."""
    calculator_s: float = 0.0
    """Seconds the job spent inside the MLIP calculator."""
    peak_rss_mb: float = 0.0
    """The worker's peak memory (resident set, MB) so far."""
    job_peak_mb: float | None = None
    """Peak memory (MB) of the worker while it ran this job (None: unknown)."""
    error: str | None = None
    traceback: str | None = None


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's: the number was reused
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:  # no /proc (macOS)
        return True


def _watch_parent(parent_pid: int) -> None:
    """End this worker when the parent process is gone (killed with SIGKILL).

    The parent that submits the jobs, not the fork server this worker came from.
    """
    while True:
        if not _alive(parent_pid):
            os._exit(1)
        time.sleep(1.0)


def _init_worker(
    parent_pid: int,
    threads: int,
    filters: list,
    environ: dict[str, str],
    share: Any = None,
) -> None:
    # Ctrl-C is the parent's to handle: it stops the workers itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warnings.filters[:] = filters  # the parent's (the CLI quiets third parties)
    # the parent's environment now (a fork server has the one of its start)
    os.environ.clear()
    os.environ.update(environ)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    with contextlib.suppress(ImportError):
        import torch

        torch.set_num_threads(threads)
    if share is not None:
        thread_share.attach(share, threads)


#: Jobs between two full collections of everything, frozen objects included.
FULL_COLLECTION_EVERY = 50
_freezes = 0


def freeze_survivors() -> None:
    """Take the objects alive now out of the garbage collector's full passes.

    A worker holds the model and the slab caches, the parent the whole store in
    memory: several 100 000 objects that a full collection walks (0.3-0.4 s each,
    about once per ten jobs), though they live until the process ends. After each
    job the young generations are collected (a few ms) and the survivors frozen
    (``gc.freeze``), so full passes only walk what later jobs allocate. Frozen
    objects are still freed by reference counting; reference cycles that had
    reached the old generation are collected by one full pass over everything
    every :data:`FULL_COLLECTION_EVERY` jobs, so memory stays bounded.
    """
    global _freezes
    _freezes += 1
    if _freezes % FULL_COLLECTION_EVERY == 0:
        gc.unfreeze()
        gc.collect()
    else:
        gc.collect(1)
    gc.freeze()


def _plain(docs: list[dict]) -> list[dict]:
    for d in docs:
        d.pop("_id", None)
    return docs


def encode_job(job: Job) -> str:
    """A job (inputs resolved) as JSON for a worker.

    Pickle cannot send ``@job`` functions (the module attribute is the decorator's
    wrapper); jobflow's own serialisation, as FireWorks stores jobs, can.
    """
    return json.dumps(job, cls=MontyEncoder)


class _NotPlain(Exception):
    """An input reference :func:`encode_resolved` leaves to jobflow's resolver."""


def _has_reference(obj: Any) -> bool:
    """Whether a stored (JSON) document holds a jobflow OutputReference."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("@class") == "OutputReference":
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def encode_resolved(job: Job, store: JobStore) -> str:
    """The job as JSON for a worker, its input references replaced by the outputs.

    jobflow's ``resolve_args`` loads each referenced output, serialises it to search
    it for references, deserialises it (Structures, task documents), and
    :func:`encode_job` serialises it again: 1.5-2 s in the parent for an analysis
    job whose inputs are 7 relaxation documents, while the workers wait for their
    next job. The stored outputs are JSON already: here they go into the job's
    serialised arguments as stored (with their data-store blobs) and are decoded
    once, in the worker. jobflow resolves the job instead where this cannot: an
    output not stored, an attribute of a serialised object (whole outputs, items of
    plain dicts and lists, and serialised objects held by pydantic documents, such
    as a task document's structure, are taken as stored), an output holding
    references, a job that tolerates missing inputs.
    """
    from jobflow.core.reference import OnMissing, OutputReference

    def jobflows() -> str:
        return encode_job(job.resolve_args(store=store, inplace=False))

    if job.config.on_missing_references != OnMissing.ERROR:
        return jobflows()
    outputs: dict[str, Any] = {}

    def output(uuid: str) -> Any:
        if uuid not in outputs:
            doc = store.query_one(
                {"uuid": uuid}, properties=["output"], sort={"index": -1}, load=True
            )
            if doc is None or _has_reference(doc.get("output")):
                raise _NotPlain(uuid)
            outputs[uuid] = doc["output"]
        return outputs[uuid]

    def resolve(obj: Any) -> Any:
        if isinstance(obj, list):
            return [resolve(v) for v in obj]
        if not isinstance(obj, dict):
            return obj
        if obj.get("@class") != "OutputReference":
            return {k: resolve(v) for k, v in obj.items()}
        ref = OutputReference.from_dict(obj)
        data = output(ref.uuid)
        in_model = False
        for _, attr in ref.attributes:
            # a serialised object's fields are not always its attributes as
            # decoded (a Structure's lattice; a pydantic model's nested models,
            # compositions and enums are stored as plain values)
            if isinstance(data, dict) and "@class" in data:
                if not is_pydantic(data):
                    raise _NotPlain(ref.uuid)
                in_model = True
            try:
                data = data[attr]
            except (KeyError, IndexError, TypeError) as exc:
                raise _NotPlain(ref.uuid) from exc
        # within a pydantic model only serialised objects (a task document's
        # Structure) decode to what the attribute holds
        if in_model and not is_object(data):
            raise _NotPlain(ref.uuid)
        return data

    raw = json.loads(encode_job(job))
    try:
        raw["function_args"] = resolve(raw.get("function_args", []))
        raw["function_kwargs"] = resolve(raw.get("function_kwargs", {}))
    except _NotPlain:
        return jobflows()
    return json.dumps(raw)


def decode_job(job_json: str) -> Job:
    """The job of :func:`encode_job`, ready to run without resolving its inputs.

    jobflow's ``Job.__init__`` searches the inputs for stray Job objects and
    ``Job.run`` searches them again for references, each time by serialising them
    whole: 0.2-0.4 s for the analysis jobs whose inputs are a few relaxation
    documents. The parent resolved every reference already, so the job is built
    without its inputs, they are decoded on their own, and the job is told its
    references are resolved (jobflow's ``JobConfig.resolve_references``).
    """
    raw = json.loads(job_json)
    args, kwargs = raw.pop("function_args", []), raw.pop("function_kwargs", {})
    if enabled("fast_structures"):
        args, kwargs = with_structures(args), with_structures(kwargs)
    decoder = MontyDecoder()
    job = decoder.process_decoded(raw)
    job.function_args = tuple(decoder.process_decoded(args))
    job.function_kwargs = decoder.process_decoded(kwargs)
    job.config.resolve_references = False
    return job


def check_response(job: Any, response: Any) -> None:
    """Refuse dynamic work a local run would lose.

    Only an expanding job's addition is run, rebuilt from its stored output
    (:mod:`lpsflow.dispatch.expansion`), which is what makes it resumable.
    """
    from lpsflow.dispatch.expansion import hook_of

    if (
        response.replace
        or response.detour
        or (response.addition and hook_of(job) is None)
    ):
        raise RuntimeError(
            "dynamic (Response) jobs are run locally only as expanding jobs "
            "(lpsflow.dispatch.expansion.expands)"
        )


def run_job(job_json: str, store_names: list[str], job_dir: Path) -> JobResult:
    """Run a job whose inputs are resolved (:func:`encode_job`) in memory.

    The job stores its output in :class:`~lpsflow.dispatch.capture_store.CaptureStore`
    instances, whose documents come back to the parent.
    """
    from jobflow import JobStore

    from lpsflow.calculators import progress
    from lpsflow.dispatch.capture_store import CaptureStore

    store = JobStore(
        CaptureStore("docs"),
        additional_stores={n: CaptureStore(n, key="blob_uuid") for n in store_names},
    )
    store.connect()
    meter, started = JobMeter(), time.time()
    job = decode_job(job_json)
    result = JobResult(uuid=job.uuid, started=started)
    try:
        with contextlib.chdir(job_dir), progress.running(job.name, job.uuid, job_dir):
            response = job.run(store=store, job_dir=job_dir)
        check_response(job, response)
        result.summary = describe_output(response.output)
        result.docs = _plain(list(store.docs_store.query({})))
        result.blobs = {
            n: _plain(list(s.query({}))) for n, s in store.additional_stores.items()
        }
    except Exception as exc:
        result.error = exception_line(exc)
        result.traceback = traceback.format_exc()
    freeze_survivors()
    stats = meter.stats()
    result.seconds, result.cpu_s = stats["wall_s"], stats["cpu_s"]
    result.calls, result.calculator_s = stats["force_calls"], stats["calculator_s"]
    result.job_peak_mb = stats.get("peak_mb")
    result.peak_rss_mb = peak_rss_mb()
    return result


def write_result(store: JobStore, result: JobResult) -> None:
    """Put a worker's documents into the campaign's JobStore, blobs first."""
    for name, blobs in result.blobs.items():
        if blobs:
            store.additional_stores[name].update(blobs, key="blob_uuid")
    store.docs_store.update(result.docs, key=["uuid", "index"])


class WorkerPool:
    """``workers`` processes, each with ``cores // workers`` torch threads.

    While fewer jobs run than there are workers, :meth:`running` lends the idle
    cores to the running jobs (:mod:`lpsflow.calculators.thread_share`). A pool
    whose process died (killed for memory, say) is replaced on the next
    ``submit``: the job that was running there fails, the others go on.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.cores = cpu_count()
        self.threads = max(1, self.cores // workers)
        self._share = (
            context().RawValue("i", self.threads)
            if enabled("lend_cores") and workers > 1 and self.cores > 1
            else None
        )
        self._pool: ProcessPoolExecutor | None = None

    def running(self, jobs: int, others: int = 0) -> None:
        """Tell the workers that ``jobs`` jobs run or wait (the threads each gets).

        ``others``: jobs of other runners on this host's cores meanwhile.
        """
        if self._share is not None:
            self._share.value = thread_share.share_for(
                self.cores, self.workers, jobs, others
            )

    def _start(self) -> ProcessPoolExecutor:
        # forked from the fork server or spawned, never forked from this process
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context(),
            initializer=_init_worker,
            initargs=(
                os.getpid(),
                self.threads,
                list(warnings.filters),
                dict(os.environ),
                self._share,
            ),
        )

    def submit(self, fn: Any, *args: Any) -> Future:
        """Run ``fn(*args)`` in a worker."""
        if self._pool is None:
            self._pool = self._start()
        try:
            return self._pool.submit(fn, *args)
        except BrokenProcessPool:
            self._stop(self._pool)
            self._pool = self._start()
            return self._pool.submit(fn, *args)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if exc_type is None:
            pool.shutdown(wait=True)
        else:  # interrupted or failed: stop the running jobs now
            self._stop(pool)

    @staticmethod
    def _stop(pool: ProcessPoolExecutor) -> None:
        processes = list((pool._processes or {}).values())
        manager = pool._executor_manager_thread  # shutdown forgets it
        pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            with contextlib.suppress(Exception):
                p.terminate()
        for p in processes:
            with contextlib.suppress(Exception):
                p.join(timeout=10)
        # let the executor's manager thread close its wakeup pipe before the
        # interpreter's exit handler writes to it (Python 3.11 races there and
        # printed "OSError: Bad file descriptor" after a SIGTERM'd run)
        if manager is not None:
            manager.join(timeout=10)
