"""Verdicts against round-off: one campaign under perturbed starts and worker counts.

Runs ``lpsflow run CONFIG --perturb-seed S --workers W`` for each run (seed S,
workers W) on a fresh store of its own, ranks each (:func:`lpsflow.results.load`,
:func:`lpsflow.analysis.ranking.rank`) and prints, per accelerant, scheme and
criterion, the verdict of every run. Then the two goals of the verdicts issue:

* **agreement**: of the (row, criterion) pairs decided (pass or fail) in two or
  more runs, the share whose decided verdicts are all the same (a verdict decided
  in one run and undecided in another is counted apart, not as a disagreement);
* **coverage**: of the values that carry a spread (``<column>_spread``), the share
  of (row, column, run a, run b) where run a's value lies within run b's value
  +/- run b's spread (unknown spreads counted apart).

Each perturbation moves every free atom of every MLIP relaxation's start by 1e-4 A
(``calculator.perturb_seed``), the size of round-off; worker processes change the
order jobs run in and the threads each gets. A run whose jobs fail (a perturbed
start that breaks a step) is kept: its verdicts there are ``not computed``, and the
failures are counted. With ``--keep`` a run already in its folder is reused.

    python benchmarks/verdicts.py                          # configs/quick.yaml, 3 runs
    python benchmarks/verdicts.py --runs 1:2 2:1 3:2 --json out.json
    python benchmarks/verdicts.py --config c.yaml --keep runs/   # keep the stores
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def parse_run(text: str) -> tuple[int, int]:
    """``SEED:WORKERS`` -> (seed, workers)."""
    try:
        seed, workers = (int(v) for v in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected SEED:WORKERS, got {text!r}"
        ) from None
    if seed < 0 or workers < 1:
        raise argparse.ArgumentTypeError(f"seed >= 0 and workers >= 1: {text!r}")
    return seed, workers


def run_one(config: Path, folder: Path, seed: int, workers: int) -> tuple[Path, float]:
    """The campaign under one seed and worker count, on a store in ``folder``."""
    data = yaml.safe_load(config.read_text())
    data["store"] = {"type": "embedded", "path": str(folder / "store")}
    data["workdir"] = str(folder / "work")
    for phase, path in (data.get("structures") or {}).items():
        data["structures"][phase] = str((config.parent / path).resolve())
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / config.name
    copy.write_text(yaml.safe_dump(data, sort_keys=False))
    cmd = [sys.executable, "-m", "lpsflow.cli", "run", str(copy)]
    cmd += ["--perturb-seed", str(seed), "--workers", str(workers)]
    print(f"run seed {seed}, {workers} worker(s): {' '.join(cmd[2:])}", flush=True)
    start = time.perf_counter()
    with open(folder / "run.log", "w") as log:
        done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
    wall = time.perf_counter() - start
    failed = (folder / "run.log").read_text().count(": FAILED (")
    if done.returncode != 0 and not failed:
        sys.exit(
            f"error: the run failed (exit {done.returncode}); see {folder}/run.log"
        )
    print(
        f"  done in {wall:.0f} s"
        + (
            f"; {failed} job(s) failed (their verdicts: not computed)" if failed else ""
        ),
        flush=True,
    )
    return copy, wall


def ranked(config: Path) -> tuple[list, dict]:
    """The ranking of a finished run and its results rows by (accelerant, scheme)."""
    from lpsflow.analysis.ranking import rank
    from lpsflow.campaign import load_campaign
    from lpsflow.results import load
    from lpsflow.store import open_stores

    camp = load_campaign(config)
    with open_stores(camp.store, camp.base_dir) as stores:
        df = load(camp.name, stores)
    rows = {(r["accelerant"], r["scheme"]): r for r in df.to_dict("records")}
    return rank(df), rows


def agreement(verdicts: dict[tuple, list[str]]) -> dict:
    """Decided verdicts that agree across runs, and those decided in some only."""
    decided = {
        k: [v for v in vs if v in ("pass", "fail")] for k, vs in verdicts.items()
    }
    compared = {k: d for k, d in decided.items() if len(d) >= 2}
    same = [k for k, d in compared.items() if len(set(d)) == 1]
    partly = [k for k, vs in verdicts.items() if 0 < len(decided[k]) < len(vs)]
    return {
        "compared": len(compared),
        "agree": len(same),
        "share": len(same) / len(compared) if compared else None,
        "disagree": sorted("/".join(k) for k in compared if k not in same),
        "decided_in_some_runs_only": sorted("/".join(k) for k in partly),
    }


def coverage(runs: list[dict]) -> dict:
    """Values of one run inside another run's value +/- spread."""
    inside = outside = unknown = 0
    worst: list[tuple[float, str]] = []
    keys = set.intersection(*(set(r) for r in runs))
    for key in sorted(keys):
        cols = [c[: -len("_spread")] for c in runs[0][key] if c.endswith("_spread")]
        for col in cols:
            for a, b in itertools.permutations(range(len(runs)), 2):
                va, vb = runs[a][key].get(col), runs[b][key].get(col)
                sb = runs[b][key].get(f"{col}_spread")
                if not _number(va) or not _number(vb):
                    continue
                if not _number(sb):
                    unknown += 1
                    continue
                if abs(va - vb) <= sb + 1e-12:
                    inside += 1
                else:
                    outside += 1
                    worst.append((abs(va - vb) - sb, f"{'/'.join(key)} {col}"))
    worst.sort(reverse=True)
    return {
        "inside": inside,
        "outside": outside,
        "unknown_spread": unknown,
        "share": inside / (inside + outside) if inside + outside else None,
        "worst": [{"what": w, "beyond_spread": round(d, 5)} for d, w in worst[:10]],
    }


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v == v


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, default=ROOT / "configs" / "quick.yaml")
    p.add_argument(
        "--runs",
        nargs="+",
        type=parse_run,
        default=[(1, 2), (2, 1), (3, 2)],
        help="SEED:WORKERS of each run (default: 1:2 2:1 3:2)",
    )
    p.add_argument("--keep", type=Path, help="Keep the runs' stores in this folder.")
    p.add_argument("--json", type=Path, help="Write the figures to this file.")
    args = p.parse_args()
    if not args.config.is_file():
        sys.exit(f"error: campaign file not found: {args.config}")
    if len(args.runs) < 2:
        sys.exit("error: give at least two runs to compare")

    base = args.keep or Path(tempfile.mkdtemp(prefix="lpsflow-verdicts-"))
    results, walls = [], []
    for k, (seed, workers) in enumerate(args.runs):
        copy, wall = run_one(
            args.config, base / f"run{k}-seed{seed}-w{workers}", seed, workers
        )
        results.append(ranked(copy))
        walls.append(wall)

    verdicts: dict[tuple, list[str]] = {}
    for ranking, _ in results:
        for row in ranking:
            for c in row.criteria:
                verdicts.setdefault((row.accelerant, row.scheme, c.key), []).append(
                    c.status
                )
    head = " | ".join(f"seed {s} w{w}" for s, w in args.runs)
    print(f"\n{'accelerant / scheme / criterion':<44} | {head}")
    for key, vs in sorted(verdicts.items()):
        print(f"{'/'.join(key):<44} | " + " | ".join(f"{v:<9}" for v in vs))
    agree = agreement(verdicts)
    cover = coverage([rows for _, rows in results])
    print(
        f"\nagreement: {agree['agree']} of {agree['compared']} verdicts decided in two "
        f"or more runs are the same"
        + (f" ({100 * agree['share']:.0f} %)" if agree["share"] is not None else "")
        + (f"; differ: {', '.join(agree['disagree'])}" if agree["disagree"] else "")
    )
    if agree["decided_in_some_runs_only"]:
        print(
            "decided in some runs, undecided in others: "
            + ", ".join(agree["decided_in_some_runs_only"])
        )
    print(
        f"coverage: {cover['inside']} of {cover['inside'] + cover['outside']} values "
        "lie within another run's value +/- its spread"
        + (f" ({100 * cover['share']:.0f} %)" if cover["share"] is not None else "")
        + f"; {cover['unknown_spread']} comparisons against an unknown spread"
    )
    for w in cover["worst"][:5]:
        print(f"  beyond by {w['beyond_spread']:.4g}: {w['what']}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "date": time.strftime("%Y-%m-%d"),
                    "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                    f"{platform.python_version()}",
                    "config": str(args.config),
                    "runs": [
                        {"seed": s, "workers": w, "wall_s": round(t, 1)}
                        for (s, w), t in zip(args.runs, walls, strict=True)
                    ],
                    "verdicts": {"/".join(k): v for k, v in sorted(verdicts.items())},
                    "agreement": agree,
                    "coverage": cover,
                },
                indent=2,
            )
        )
        print(f"wrote {args.json}")
    if not args.keep:
        print(f"stores left in {base} (delete when done)")


if __name__ == "__main__":
    main()
