"""The firework task of a campaign job: jobflow's, claimed and with its cost recorded.

jobflow's ``JobFiretask`` runs the job and stores its output. This subclass

* claims the job in the results store first (:mod:`lpsflow.dispatch.claims`), as
  ``lpsflow run`` does, so workers and local runs that share the store never
  compute a job twice: a job another runner computed is not run again (the
  firework completes at once), one it computes now is waited for, one whose
  runner died is taken over;
* copies a calculation stored already under another job's id instead of
  computing it again (:mod:`lpsflow.dispatch.same`);
* adds the jobs an expanding job asks for (:mod:`lpsflow.dispatch.expansion`)
  to the workflow, from its stored output (also when it was computed
  elsewhere), each run by this task too;
* writes the job's wall and CPU time, MLIP force calls and peak memory into the
  job's document (:data:`lpsflow.status.RUN_STATS_KEY`, as ``lpsflow run`` does),
  so ``lpsflow status --store`` sums a cluster campaign's CPU hours and says how
  much memory each kind of job needed: what the queue adapter must request.

Written by hand because jobflow has no hook around a job's run.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

from fireworks.utilities.fw_utilities import explicit_serialize
from jobflow.managers.fireworks import JobFiretask

from lpsflow.dispatch import same
from lpsflow.dispatch.claim_backends import claims_for
from lpsflow.dispatch.claims import POLL_S, Taken
from lpsflow.dispatch.usage import JobMeter, record_stats
from lpsflow.dispatch.workers import exception_line
from lpsflow.errors import StoreError


@explicit_serialize
class CampaignJobFiretask(JobFiretask):
    """Run one jobflow job (as ``JobFiretask``) and record what it cost."""

    def run_task(self, fw_spec: dict[str, Any]) -> Any:
        """Claim the job, run it, then add its cost to its stored document."""
        from fireworks import FWAction
        from jobflow import SETTINGS

        store = self.get("store") or SETTINGS.JOB_STORE  # the one the job writes to
        store.connect()
        job = self["job"]
        claims = claims_for(store.docs_store)

        def stored(uuid: str) -> bool:
            return store.docs_store.query_one({"uuid": uuid}, ["uuid"]) is not None

        with claims.session("FireWorks worker"):
            while True:
                taken, other = claims.acquire(job.uuid, job.name, stored)
                if taken is Taken.MINE:
                    break
                if taken is Taken.DONE:
                    return FWAction(
                        stored_data={"computed_by": other.who},
                        additions=self._stored_additions(store, job),
                    )
                if taken is Taken.FAILED:
                    raise RuntimeError(f"failed in {other.who}: {other.message}")
                time.sleep(POLL_S)  # another runner computes it now
            rid = same.resolved_id(job, store)
            source = same.reuse(store, job, rid)
            if source is not None:  # computed already, reached another way
                claims.finish(job.uuid)
                return FWAction(
                    stored_data={"same_as": source},
                    additions=self._stored_additions(store, job),
                )
            meter = JobMeter()
            try:
                action = super().run_task(fw_spec)
            except Exception as exc:  # interrupted: the session lets the claim go
                claims.fail(job.uuid, exception_line(exc))
                raise
            more = self._stored_additions(store, job)  # an expanding job's work
            if more:
                action.additions = [*(action.additions or []), *more]
            try:
                same.record(store, job.uuid, rid)
                record_stats(store.docs_store, job.uuid, meter.stats())
            except Exception as exc:  # the job's output is stored: do not fail it
                warnings.warn(f"the job's cost was not recorded: {exc}", stacklevel=1)
            try:
                claims.finish(job.uuid)
            except StoreError as exc:  # taken over meanwhile: stored by both
                warnings.warn(str(exc), stacklevel=1)
        return action

    def _stored_additions(self, store: Any, job: Any) -> list | None:
        """What an expanding job adds, from its stored output (None: nothing).

        Its jobs read finished jobs outside them (external references).
        """
        from jobflow.managers.fireworks import flow_to_workflow

        from lpsflow.dispatch.expansion import addition, hook_of

        if hook_of(job) is None:
            return None
        flow = addition(job, store.get_output(job.uuid, load=True))
        if flow is None:
            return None
        wf = flow_to_workflow(flow, self.get("store"), allow_external_references=True)
        return [with_recorded_cost(wf)]


def with_recorded_cost(wf: Any) -> Any:
    """Swap every ``JobFiretask`` of a workflow for :class:`CampaignJobFiretask`."""
    for fw in wf.fws:
        fw.tasks = [
            CampaignJobFiretask(job=t["job"], store=t.get("store"))
            if type(t) is JobFiretask
            else t
            for t in fw.tasks
        ]
    return wf
