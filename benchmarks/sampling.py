"""What adaptive sampling did in a finished campaign: rounds, verdicts, cost.

Reads a campaign's store (run it first, e.g. ``configs/quick.yaml`` with
``sampling: {mode: adaptive}``) and prints per accelerant each round's undecided
criteria, what it raised and why the rounds stopped; the verdicts of round 1
against the last round (how many criteria the rounds decided); and the cost of
the jobs the rounds added against the campaign's own (job time, force calls).

    python benchmarks/sampling.py CAMPAIGN.yaml [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path


def main() -> None:
    from lpsflow.campaign import load_campaign
    from lpsflow.results import manifest
    from lpsflow.roles import roles_of
    from lpsflow.sampling.read import rounds
    from lpsflow.status import RUN_STATS_KEY
    from lpsflow.store import open_stores

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("campaign", type=Path)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    camp = load_campaign(args.campaign)
    out: dict = {"campaign": camp.name, "sampling": camp.sampling.model_dump()}
    with open_stores(camp.store, camp.base_dir, create=False) as stores:
        man = manifest(stores, camp.name)
        jobs = roles_of(man)
        chains = rounds(stores, jobs)
        own = set(jobs.values())
        added: set[str] = set()
        for chain in chains.values():
            for d in chain:
                added |= set(d.get("roles", {}).values()) | {d["job"]}
        added -= own

        def cost(uuids: set[str]) -> dict:
            total: Counter = Counter()
            docs = stores.jobs.query(
                {"uuid": {"$in": list(uuids)}}, ["uuid", "metadata", RUN_STATS_KEY]
            )
            for d in docs:
                s = d.get(RUN_STATS_KEY) or {}
                total["jobs"] += 1
                total["copied"] += "lpsflow_same_as" in (d.get("metadata") or {})
                for k in ("wall_s", "cpu_s", "force_calls"):
                    total[k] += s.get(k, 0)
            return {k: round(v, 1) for k, v in total.items()}

        out["campaign_jobs"] = cost(own)
        out["round_jobs"] = cost(added)
    out["accelerants"] = {}
    for acc, chain in chains.items():
        first, last = chain[0], chain[-1]

        def decided(d: dict) -> dict:
            return {
                s: sum(v in ("pass", "fail") for v in vs.values())
                for s, vs in d.get("verdicts", {}).items()
            }

        out["accelerants"][acc] = {
            "rounds": [
                {
                    "round": d["round"],
                    "undecided": d.get("undecided", []),
                    "raised": d.get("raised", {}),
                    "spent": d.get("spent", 0),
                    "stop": d.get("stop", ""),
                    "why": d.get("why", []),
                }
                for d in chain
            ],
            "decided_first": decided(first),
            "decided_last": decided(last),
            "verdicts_last": last.get("verdicts", {}),
        }
    for acc, a in out["accelerants"].items():
        print(f"{acc}: {len(a['rounds'])} rounds")
        for r in a["rounds"]:
            print(
                f"  round {r['round']}: undecided {', '.join(r['undecided']) or '-'}; "
                f"raised {r['raised'] or '-'}; spent {r['spent']}"
                + (f"; stopped: {r['stop']}" if r["stop"] else "")
            )
        print(f"  decided criteria, round 1 -> last: {a['decided_first']} -> "
              f"{a['decided_last']}")  # fmt: skip
    print(f"campaign's own jobs: {out['campaign_jobs']}")
    print(f"jobs the rounds added: {out['round_jobs']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
