"""Runners sharing one store: one run alone against two runs started together.

    python benchmarks/shared_runs.py        # the quick campaign, ~25 min on 2 cores
    python benchmarks/shared_runs.py --config my.yaml --json out.json

Each mode runs the campaign on a fresh temporary store, as ``lpsflow run`` from the
command line:

1. ``alone-1``: one ``lpsflow run --workers 1``;
2. ``alone-auto``: one ``lpsflow run`` with its default worker processes;
3. ``two-1``: two ``lpsflow run --workers 1`` started at the same moment.

It prints each mode's wall time (the later of the two runs for ``two-1``), the jobs
each runner computed, and checks what the claims promise: one document per job
(uuid, index), each job computed by exactly one runner (the process id recorded in
its document against the jobs that runner reported), and descriptors identical to
the first mode's (``lpsflow results --format json``). ``--modes`` picks the modes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _campaign(config: Path, where: Path) -> Path:
    """``config`` with its store and job directories in ``where``."""
    data = yaml.safe_load(config.read_text())
    data["store"] = {"type": "embedded", "path": str(where / "store")}
    data["workdir"] = str(where / "work")
    for phase, path in (data.get("structures") or {}).items():
        if isinstance(path, str) and not Path(path).is_absolute():
            data["structures"][phase] = str((config.parent / path).resolve())
    out = where / config.name
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def _lpsflow(*args: str) -> list[str]:
    return [sys.executable, "-m", "lpsflow.cli", *args]


def _mode(config: Path, runs: list[list[str]]) -> dict:
    where = Path(tempfile.mkdtemp(prefix="shared-runs-"))
    yaml_path = _campaign(config, where)
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            _lpsflow("run", str(yaml_path), *extra),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "LPSFLOW_PROGRESS_S": "0"},
        )
        for extra in runs
    ]
    errs = [p.communicate()[1] for p in procs]
    wall = time.perf_counter() - t0
    for p, err in zip(procs, errs, strict=True):
        if p.returncode != 0:
            raise SystemExit(f"run {p.pid} failed ({p.returncode}):\n{err[-3000:]}")
    computed = {
        p.pid: re.findall(r"^\[\d+/\d+\] (.+): done in ", e, re.M)
        for p, e in zip(procs, errs, strict=True)
    }
    from lpsflow.store import embedded_stores

    stores = embedded_stores(where / "store", create=False).connect()
    docs = list(stores.jobs.docs_store.query({}, ["uuid", "index", "lpsflow_run"]))
    stores.close()
    pairs = Counter((d["uuid"], d["index"]) for d in docs)
    by_pid = Counter((d.get("lpsflow_run") or {}).get("pid") for d in docs)
    results = subprocess.run(
        _lpsflow("results", str(yaml_path), "-f", "json"),
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return {
        "wall_s": round(wall, 1),
        "jobs": len(docs),
        "computed_by_runner": [len(v) for v in computed.values()],
        "one_document_per_job": max(pairs.values()) == 1,
        "each_job_computed_once": by_pid == {p: len(v) for p, v in computed.items()}
        and sum(map(len, computed.values())) == len(docs),
        "results": json.loads(results),
    }


#: Mode name -> the extra arguments of each ``lpsflow run`` started together.
MODES = {
    "alone-1": [["--workers", "1"]],
    "alone-auto": [[]],
    "two-1": [["--workers", "1"], ["--workers", "1"]],
}


def main() -> None:
    """Run the three modes and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "quick.yaml")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        help="comma-separated modes to run (the first is the reference)",
    )
    args = parser.parse_args()
    modes = {name: MODES[name] for name in args.modes.split(",")}
    out: dict = {
        "config": str(args.config),
        "machine": f"{platform.node()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "modes": {},
    }
    for name, runs in modes.items():
        print(f"{name}: {len(runs)} run(s) ...", flush=True)
        out["modes"][name] = _mode(args.config, runs)
    first = next(iter(modes))
    reference = out["modes"][first].pop("results")
    base = out["modes"][first]["wall_s"]
    print(f"\n{'mode':<11} {'wall s':>7} {'vs ' + first:>14}  jobs  by runner  checks")
    for name, m in out["modes"].items():
        m["same_descriptors"] = m.pop("results", reference) == reference
        ok = m["one_document_per_job"] and m["each_job_computed_once"]
        ok = ok and m["same_descriptors"]
        print(
            f"{name:<11} {m['wall_s']:>7.1f} {base / m['wall_s']:>13.2f}x  "
            f"{m['jobs']:>4}  {'+'.join(map(str, m['computed_by_runner'])):<9}  "
            + ("ok" if ok else "FAILED")
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
