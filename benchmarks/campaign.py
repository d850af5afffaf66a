"""Benchmark the quick campaign: wall time, force calls, overhead, sharing, resume.

Runs, in one process and on fresh temporary stores:

1. the campaign with its first accelerant only (baseline for sharing);
2. the full campaign (all accelerants);
3. the full campaign again on the same store (resume cost).

and prints wall times, MLIP force calls, time inside the calculator versus total
(orchestration overhead), the cost of N accelerants relative to 1, and the resume
cost relative to the first run. Ratios are taken within this one run on this machine.

    python benchmarks/campaign.py                      # configs/quick.yaml
    python benchmarks/campaign.py --config my.yaml --json out.json
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import warnings
from pathlib import Path

from lpsflow.calculators.mlip import STATS
from lpsflow.campaign import load_campaign
from lpsflow.dispatch.local import run_campaign
from lpsflow.flows.campaign import build_campaign
from lpsflow.store import embedded_stores

ROOT = Path(__file__).resolve().parents[1]


def measure(campaign, store_dir: Path, work_dir: Path) -> dict:
    """Build and run ``campaign`` on the store in ``store_dir``; return the figures."""
    t0 = time.perf_counter()
    cflow = build_campaign(campaign)
    build_s = time.perf_counter() - t0
    stores = embedded_stores(store_dir).connect()
    try:
        report = run_campaign(
            campaign, stores, work_dir, echo=lambda _: None, cflow=cflow
        )
    finally:
        stores.close()
    wall = build_s + report.wall_s
    return {
        "accelerants": campaign.accelerants,
        "jobs": report.total,
        "computed": len(report.completed),
        "reused": report.reused,
        "failed": len(report.failed),
        "wall_s": wall,
        "build_s": build_s,
        "force_calls": report.force_calls,
        "calculator_s": report.calculator_s,
        "overhead_fraction": 1 - report.calculator_s / wall if wall else 0.0,
    }


def main() -> None:
    """Run the benchmark and print a report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "quick.yaml"))
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # third-party deprecation noise

    full = load_campaign(args.config)
    one = full.model_copy(update={"accelerants": full.accelerants[:1]})
    STATS.reset()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # warm-up: load the model once so no run pays for it alone
        from lpsflow.calculators.mlip import mlip_calculator

        mlip_calculator(full.calculator.model, full.calculator.device)
        r1 = measure(one, tmp / "store1", tmp / "work1")
        rn = measure(full, tmp / "storeN", tmp / "workN")
        rr = measure(full, tmp / "storeN", tmp / "workN")

    n = len(full.accelerants)
    figures = {
        "machine": f"{platform.processor() or platform.machine()}, "
        f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}",
        "config": args.config,
        "one_accelerant": r1,
        "all_accelerants": rn,
        "rerun": rr,
        "sharing_ratio": rn["wall_s"] / r1["wall_s"],
        "resume_fraction": rr["wall_s"] / rn["wall_s"],
    }
    print(f"machine: {figures['machine']}")
    print(f"config:  {args.config} ({', '.join(full.accelerants)})")
    print(
        f"{'run':28s} {'jobs':>5s} {'wall s':>8s} {'force calls':>12s} "
        f"{'in calc s':>10s} {'overhead':>9s}"
    )
    for label, r in (
        (f"1 accelerant ({one.accelerants[0]})", r1),
        (f"{n} accelerants", rn),
        (f"{n} accelerants, rerun", rr),
    ):
        print(
            f"{label:28s} {r['jobs']:5d} {r['wall_s']:8.1f} {r['force_calls']:12d} "
            f"{r['calculator_s']:10.1f} {100 * r['overhead_fraction']:8.1f}%"
        )
    print(f"cost of {n} accelerants / 1: {figures['sharing_ratio']:.2f}x")
    print(
        f"rerun of a finished campaign / first run: "
        f"{100 * figures['resume_fraction']:.2f}%"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
