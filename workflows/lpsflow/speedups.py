"""The speed-ups, and the environment variable that switches them off.

Imports nothing heavy: the command line asks it before it loads the scientific stack.
"""

from __future__ import annotations

import os

from lpsflow.errors import ConfigError

#: Speed-ups that leave the numbers unchanged (to float round-off):
#:
#: * ``one_backward``: CHGNet forces and stress from one first-order backward pass
#:   (:mod:`lpsflow.calculators.chgnet_fast`), 1.7x faster per evaluation;
#: * ``fast_graph``: CHGNet's crystal graph built with numpy from the atoms' arrays
#:   (:mod:`lpsflow.calculators.chgnet_graph`), 10x faster than chgnet's converter,
#:   12-20 % of a force call for 126-348 atoms (only with ``one_backward``);
#: * ``flush_denormals``: the model evaluated with subnormal floats flushed to
#:   zero (:func:`lpsflow.calculators.chgnet_fast.flushed_denormals`), 2x faster
#:   on one thread, bit-identical results (only with ``one_backward``);
#: * ``blas_one_thread``: see :func:`limit_blas_threads`;
#: * ``shared_model``: one loaded model per process, not one per job;
#: * ``parallel_jobs``: ``lpsflow run`` runs independent jobs side by side, one
#:   worker process per core (:mod:`lpsflow.dispatch.workers`);
#: * ``fork_server``: those workers are forked from a server process that imported
#:   their modules once, while the command built the flow
#:   (:mod:`lpsflow.dispatch.processes`); off, each worker starts a new Python;
#: * ``fast_structures``: a job's input Structures decoded in one constructor call
#:   each, without pymatgen's per-site JSON round trips
#:   (:mod:`lpsflow.dispatch.stored_json`), the same Structures;
#: * ``lend_cores``: while fewer jobs run than there are workers, the running ones
#:   get the idle cores' torch threads (:mod:`lpsflow.calculators.thread_share`);
#: * ``energy_only``: the screens' single points without the backward pass
#:   (:meth:`lpsflow.calculators.chgnet_fast.FastCHGNetCalculator.energies`), the
#:   same energies bit for bit (only with ``one_backward``);
#: * ``batched_images``: an NEB band's images each with their own calculator of one
#:   :class:`lpsflow.calculators.batch.BatchGroup` (one model call for all on a GPU,
#:   2.3x faster for 5 images; its endpoints relaxed together there), not one
#:   shared calculator that recomputes each image on every request (3 per step with
#:   FIRE: 3x the force calls; only with ``one_backward``).
#:
#: Each can be switched off, for the benchmark's baseline and the equality tests,
#: by naming it in the environment variable ``LPSFLOW_DISABLE`` (comma separated).
SPEEDUPS = (
    "one_backward",
    "fast_graph",
    "flush_denormals",
    "blas_one_thread",
    "shared_model",
    "parallel_jobs",
    "fork_server",
    "fast_structures",
    "lend_cores",
    "energy_only",
    "batched_images",
)
DISABLE_ENV = "LPSFLOW_DISABLE"


def enabled(speedup: str) -> bool:
    """Whether ``speedup`` (one of :data:`SPEEDUPS`) is on in this process."""
    off = {s.strip() for s in os.environ.get(DISABLE_ENV, "").split(",") if s.strip()}
    unknown = off - set(SPEEDUPS)
    if unknown:
        raise ConfigError(
            f"{DISABLE_ENV}: unknown speed-up(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(SPEEDUPS)}"
        )
    return speedup not in off
