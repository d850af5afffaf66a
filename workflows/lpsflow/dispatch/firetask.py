"""The firework task of a campaign job: jobflow's, with what the job cost recorded.

jobflow's ``JobFiretask`` runs the job and stores its output. This subclass also
writes the job's wall and CPU time, MLIP force calls and peak memory into the job's
document (:data:`lpsflow.status.RUN_STATS_KEY`, as ``lpsflow run`` does), so
``lpsflow status --store`` sums a cluster campaign's CPU hours and says how much
memory each kind of job needed: what the queue adapter must request. Written by hand
because jobflow has no hook around a job's run.
"""

from __future__ import annotations

import warnings
from typing import Any

from fireworks.utilities.fw_utilities import explicit_serialize
from jobflow.managers.fireworks import JobFiretask

from lpsflow.dispatch.usage import JobMeter, record_stats


@explicit_serialize
class CampaignJobFiretask(JobFiretask):
    """Run one jobflow job (as ``JobFiretask``) and record what it cost."""

    def run_task(self, fw_spec: dict[str, Any]) -> Any:
        """Run the job, then add its cost to its stored document."""
        from jobflow import SETTINGS

        meter = JobMeter()
        action = super().run_task(fw_spec)
        store = self.get("store") or SETTINGS.JOB_STORE  # the one the job wrote to
        try:
            record_stats(store.docs_store, self["job"].uuid, meter.stats())
        except Exception as exc:  # the job's output is stored: do not fail it
            warnings.warn(f"the job's cost was not recorded: {exc}", stacklevel=1)
        return action


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
