"""Job ordering: how long a campaign's measured jobs take on N workers, by ordering.

Replays a campaign that has run: every job's measured cost from its store (CPU
seconds, or ``--cost wall_s``; or the job seconds of a ``campaign.py`` JSON) on the
campaign's dependency graph (rebuilt from the config), list-scheduled on N workers
(a free worker takes the first ready job in the ordering), under

* ``flat``: the ordering before the per-cell cost table, the job name's first word
  only (relax 1, neb 6, screen and static 0.3, anything else 0.01): the baseline;
* ``lpsflow``: :func:`lpsflow.dispatch.schedule.heights` (what ``lpsflow run`` and
  ``lpsflow submit`` use);
* ``measured``: heights from the measured costs themselves (the best an ordering
  by downstream chains can do),

beside the lower bound max(total / N, longest chain). Jobs not run yet cost the mean
of their finished peers (as ``lpsflow status`` estimates), others 0; the count is
printed. A simulation of the dispatch only: it ignores the one queued job the local
runner keeps in flight and the time between jobs.

    python benchmarks/schedule.py configs/study-mlip.yaml --workers 2 4 8 16 32
    python benchmarks/schedule.py configs/quick.yaml --from-benchmark quick.json
"""

from __future__ import annotations

import argparse
import heapq
import json
import platform
from pathlib import Path

from lpsflow.campaign import load_campaign
from lpsflow.dispatch.schedule import heights
from lpsflow.flows.campaign import build_campaign
from lpsflow.status import RUN_STATS_KEY, peer_key
from lpsflow.store import open_stores

FLAT = {"neb": 6.0, "relax": 1.0, "screen": 0.3, "static": 0.3}


def makespan(
    order: list[str],
    parents: dict[str, set[str]],
    children: dict[str, list[str]],
    cost: dict[str, float],
    priority: dict[str, float],
    workers: int,
) -> float:
    """Finish time of list scheduling: free workers take the highest-priority job."""
    rank = {u: i for i, u in enumerate(order)}
    waiting = {u: len(parents[u]) for u in order}
    ready = [(-priority[u], rank[u], u) for u in order if not parents[u]]
    heapq.heapify(ready)
    running: list[tuple[float, str]] = []
    t = 0.0
    while ready or running:
        while ready and len(running) < workers:
            _, _, u = heapq.heappop(ready)
            heapq.heappush(running, (t + cost[u], u))
        t, u = heapq.heappop(running)
        for c in children[u]:
            waiting[c] -= 1
            if not waiting[c]:
                heapq.heappush(ready, (-priority[c], rank[c], c))
    return t


def main() -> None:
    """Print and optionally save the makespans of each ordering."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config", help="campaign YAML whose store holds a run of it")
    ap.add_argument("--workers", type=int, nargs="+", default=[2, 4, 8, 16, 32])
    ap.add_argument("--cost", default="cpu_s", choices=["cpu_s", "wall_s"])
    ap.add_argument(
        "--from-benchmark",
        type=Path,
        help="take each job's seconds from a campaign.py JSON of this config "
        "(its all-accelerant run's role_s) instead of the store",
    )
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()

    campaign = load_campaign(args.config)
    cflow = build_campaign(campaign)
    jobs = list(cflow.flow.iterflow())
    order = [j.uuid for j, _ in jobs]
    roles = {u: r for r, u in cflow.roles.items()}
    parents = {j.uuid: set(p) & set(order) for j, p in jobs}
    children: dict[str, list[str]] = {u: [] for u in order}
    for u in order:
        for p in parents[u]:
            children[p].append(u)

    cost: dict[str, float] = {}
    if args.from_benchmark:
        role_s = json.loads(args.from_benchmark.read_text())["all_accelerants"]
        cost = {
            u: role_s["role_s"][r] for u, r in roles.items() if r in role_s["role_s"]
        }
        source, args.cost = str(args.from_benchmark), "wall_s"
    else:
        stores = open_stores(campaign.store, campaign.base_dir)
        source = stores.location
        for d in stores.jobs.query(
            {"uuid": {"$in": order}}, properties=["uuid", RUN_STATS_KEY]
        ):
            if d.get(RUN_STATS_KEY):
                cost[d["uuid"]] = float(d[RUN_STATS_KEY][args.cost])
    if not cost:
        raise SystemExit(f"no measured job of '{campaign.name}' in {source}")
    measured = len(cost)
    peers: dict[str, list[float]] = {}
    for u, c in cost.items():
        peers.setdefault(peer_key(roles[u], campaign.accelerants), []).append(c)
    estimated = 0
    for u in order:
        if u not in cost:
            found = peers.get(peer_key(roles[u], campaign.accelerants), [])
            cost[u] = sum(found) / len(found) if found else 0.0
            estimated += bool(found)

    orderings = {
        "flat": heights(jobs, lambda job: FLAT.get(job.name.split(" ", 1)[0], 0.01)),
        "lpsflow": heights(jobs),
        "measured": heights(jobs, lambda job: cost[job.uuid]),
    }
    total, longest = sum(cost.values()), max(orderings["measured"].values())
    print(
        f"{campaign.name}: {len(order)} jobs, {measured} measured, {estimated} "
        f"estimated from peers, {len(order) - measured - estimated} taken as 0; "
        f"{args.cost} total {total:.0f} s, longest chain {longest:.0f} s"
    )
    print(f"{'workers':>7} {'bound':>8} {'flat':>8} {'lpsflow':>8} {'measured':>8}"
          f" {'lpsflow/flat':>12}")  # fmt: skip
    rows = []
    for n in args.workers:
        span = {
            k: makespan(order, parents, children, cost, h, n)
            for k, h in orderings.items()
        }
        bound = max(total / n, longest)
        rows.append(
            {"workers": n, "bound_s": bound, **{f"{k}_s": v for k, v in span.items()}}
        )
        print(
            f"{n:>7} {bound:>8.0f} {span['flat']:>8.0f} {span['lpsflow']:>8.0f} "
            f"{span['measured']:>8.0f} {span['lpsflow'] / span['flat']:>12.3f}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": f"{platform.machine()}, costs measured by lpsflow run",
                    "config": str(args.config),
                    "costs_from": source,
                    "cost": args.cost,
                    "jobs": len(order),
                    "measured": measured,
                    "estimated": estimated,
                    "total_s": total,
                    "longest_chain_s": longest,
                    "rows": rows,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
