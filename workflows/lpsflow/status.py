"""How far a campaign is, and what it cost, from its results store alone.

The campaign manifest lists every job (role and uuid); a job is done when its output
is in the job store. Local runs and FireWorks workers record each job's wall time,
CPU time, MLIP force calls and peak memory in its document (:data:`RUN_STATS_KEY`);
their sums are the campaign's cost so far, over however many runs (resumes) it took.
Jobs computed otherwise (before lpsflow recorded costs) count as done but untimed.
The jobs not run yet are expected to cost what their finished peers did
(:func:`estimate_left`). Jobs a local run is running now leave a progress file in
their job directory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lpsflow.dispatch.claims import STATE_RUNNING
from lpsflow.roles import Role, RoleError, roles_of
from lpsflow.sampling.read import round_roles, rounds, state

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from lpsflow.dispatch.claims import Claim
    from lpsflow.store import Stores

#: Key of a job's document under which a local run records what the job cost
#: (:func:`lpsflow.dispatch.usage.run_stats`).
RUN_STATS_KEY = "lpsflow_run"


def role_kind(role: str) -> str:
    """A job's kind from its role: ``relax:core:Al2S3:Li-site`` -> ``relax``."""
    return Role.step_of(role)


@dataclass
class StoreStatus:
    """A campaign's jobs in its results store, and their recorded cost."""

    campaign: str
    location: str
    rounds: dict[str, str] = field(default_factory=dict)
    """Accelerant -> where its rounds of adaptive sampling are."""
    total: int = 0
    done: int = 0
    by_kind: dict[str, Counter] = field(default_factory=dict)
    """Job kind -> counts of ``done`` and ``not run``."""
    failures: dict[str, str] = field(default_factory=dict)
    """Job uuid -> first line of its error (the latest local run's failures)."""
    names: dict[str, str] = field(default_factory=dict)
    """Job uuid -> job name."""
    timed: int = 0
    """Done jobs with a recorded cost (run by ``lpsflow run``)."""
    wall_s: float = 0.0
    """Sum of the timed jobs' wall times (s)."""
    cpu_s: float = 0.0
    """Sum of the timed jobs' CPU times (s; all threads of the process)."""
    force_calls: int = 0
    """MLIP energy and force evaluations of the timed jobs."""
    longest: list[tuple[float, str]] = field(default_factory=list)
    """(wall s, role) of the most expensive timed jobs, longest first."""
    cost_by_kind: dict[str, Counter] = field(default_factory=dict)
    """Job kind -> ``wall_s``, ``cpu_s`` and ``force_calls`` of its timed jobs (sums)
    and ``peak_mb``, the largest peak memory of one of them (where measured)."""
    peak: tuple[float, str] | None = None
    """(MB, role) of the job whose process needed the most memory (where measured:
    a job's peak resident memory, the model and imports included)."""
    left_cpu_s: float = 0.0
    """Expected CPU time (s) of the jobs not run that have a timed peer."""
    left_wall_s: float = 0.0
    """Expected job time (s) of the jobs not run that have a timed peer."""
    left_estimated: int = 0
    """Jobs not run whose cost is estimated (from :func:`peer_key` peers)."""
    definition_hash: str = ""
    """:meth:`~lpsflow.campaign.Campaign.definition_hash` of the definition whose
    jobs these are (the last ``lpsflow run`` or ``submit``)."""
    updated: str = ""
    """When that run or submission wrote the manifest (ISO 8601, UTC)."""
    running: list[dict] = field(default_factory=list)
    """Jobs not done that a local run has started (running now, or killed while
    running: ``alive``), from their job directories
    (:func:`lpsflow.calculators.progress.running_jobs`)."""
    claims: list[Claim] = field(default_factory=list)
    """Claims on this campaign's unfinished jobs: runners computing them now (local
    runs, FireWorks workers; ``alive``) or that were stopped while they did."""

    def runners(self) -> list[tuple[Claim, list[str]]]:
        """Each runner holding claims (its first claim) and the names of its jobs."""
        by_runner: dict[str, tuple[Claim, list[str]]] = {}
        for claim in self.claims:
            _, names = by_runner.setdefault(claim.runner, (claim, []))
            names.append(claim.name or claim.uuid[:8])
        return list(by_runner.values())


def peer_key(role: str, accelerants: Iterable[str]) -> str:
    """The step a role belongs to, whatever the accelerant and candidate index.

    ``relax:interface:hetero:Al2S3:n2`` -> ``relax:interface:hetero:*:n2``;
    ``relax:core:SiS2:Li-site:1`` -> ``relax:core:*:Li-site:#``. Peers are the
    same step on other accelerants: cells of the same size and kind.
    """
    try:
        parsed = Role.parse(role)
    except RoleError:  # a firework's name: its own peer
        return role
    if parsed.label in set(accelerants):
        parsed = parsed.but(label="*")
    return parsed.format(index="#")


def store_status(
    stores: Stores,
    campaign: str,
    longest: int = 5,
    workdir: str | Path | None = None,
) -> StoreStatus:
    """Done and missing jobs of ``campaign`` by kind, its failures and its cost.

    With ``workdir`` (the campaign's job directories), also the jobs running now.
    """
    from lpsflow.calculators.progress import running_jobs
    from lpsflow.results import manifest

    doc = manifest(stores, campaign)
    status = StoreStatus(
        campaign=campaign,
        location=stores.location,
        definition_hash=doc.get("hash", ""),
        updated=doc.get("updated", ""),
    )
    roles = {j["uuid"]: j["role"] for j in doc.get("jobs", [])}
    status.names = {j["uuid"]: j.get("name", "") for j in doc.get("jobs", [])}
    # the jobs rounds of adaptive sampling added, and where the rounds are
    manifest_jobs = roles_of(doc)
    for uuid, role in round_roles(stores, manifest_jobs).items():
        roles.setdefault(uuid, role)
    status.rounds = {a: state(c) for a, c in rounds(stores, manifest_jobs).items()}
    stats: dict[str, dict | None] = {}
    for d in stores.jobs.query(
        {"uuid": {"$in": list(roles)}}, properties=["uuid", RUN_STATS_KEY]
    ):
        stats[d["uuid"]] = d.get(RUN_STATS_KEY) or stats.get(d["uuid"])
    status.total, status.done = len(roles), len(stats)
    for uuid, role in roles.items():
        kind = status.by_kind.setdefault(role_kind(role), Counter())
        kind["done" if uuid in stats else "not run"] += 1
    status.failures = {  # not since finished, nor a job of an older definition
        u: m
        for u, m in doc.get("failures", {}).items()
        if u in roles and u not in stats
    }
    costs = []
    for uuid, s in stats.items():
        if not s:
            continue
        status.timed += 1
        status.wall_s += s.get("wall_s", 0.0)
        status.cpu_s += s.get("cpu_s", 0.0)
        status.force_calls += s.get("force_calls", 0)
        costs.append((s.get("wall_s", 0.0), roles[uuid]))
        kind = status.cost_by_kind.setdefault(role_kind(roles[uuid]), Counter())
        for key in ("wall_s", "cpu_s", "force_calls"):
            kind[key] += s.get(key, 0)
        if s.get("peak_mb"):
            kind["peak_mb"] = max(kind["peak_mb"], s["peak_mb"])
            status.peak = max(status.peak or (0.0, ""), (s["peak_mb"], roles[uuid]))
    status.longest = sorted(costs, reverse=True)[:longest]
    accelerants = doc.get("definition", {}).get("accelerants", [])
    done = [  # what adds up: a job's peak memory does not
        (roles[u], {k: v for k, v in s.items() if k != "peak_mb"})
        for u, s in stats.items()
        if s
    ]
    left = [role for u, role in roles.items() if u not in stats]
    status.left_estimated, left_cost = estimate_left(done, left, accelerants)
    status.left_cpu_s = left_cost.get("cpu_s", 0.0)
    status.left_wall_s = left_cost.get("wall_s", 0.0)
    if workdir is not None:
        status.running = running_jobs(workdir, [u for u in roles if u not in stats])
    status.claims = [
        c
        for c in stores.claims.held()
        if c.state == STATE_RUNNING and c.uuid in roles and c.uuid not in stats
    ]
    return status


def estimate_left(
    done: Iterable[tuple[str, dict[str, float]]],
    left: Iterable[str],
    accelerants: Iterable[str],
) -> tuple[int, dict[str, float]]:
    """Expected cost of the jobs ``left`` (roles): the mean of their finished peers'.

    ``done``: (role, costs) of the finished jobs, costs by name (``wall_s``, ...).
    Returns how many of ``left`` have a finished peer (:func:`peer_key`) and the
    sum of their expected costs by name.
    """
    accelerants = list(accelerants)
    peers: dict[str, list[dict[str, float]]] = {}
    for role, costs in done:
        peers.setdefault(peer_key(role, accelerants), []).append(costs)
    n, total = 0, Counter()
    for role in left:
        found = peers.get(peer_key(role, accelerants))
        if not found:
            continue
        n += 1
        for name in {k for c in found for k in c if isinstance(c[k], int | float)}:
            total[name] += sum(c.get(name, 0.0) for c in found) / len(found)
    return n, dict(total)
