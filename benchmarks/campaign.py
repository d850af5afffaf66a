"""Throughput of a campaign against its baselines: every target of issue 8 in one run.

Runs, in this process (the baseline in subprocesses) and on fresh temporary stores:

1. the campaign with its first accelerant only, then with all (sharing), with
   ``lpsflow run``'s worker processes (``--workers``; one per core by default);
2. the same campaign again on the finished store (resume);
3. the straightforward way (baseline): one flow per accelerant, each on its own
   store, its jobs run one after the other in one process with atomate2's default
   forcefield optimiser (FIRE, for relaxations and NEB bands) and none of lpsflow's
   speed-ups (chgnet's own calculator, the model loaded per job, default BLAS
   threads, no worker processes; ``LPSFLOW_DISABLE``);
4. force calls per relaxation on twelve of the campaign's own relaxations
   (``relaxations.py``), lpsflow's optimiser against atomate2's default;

and prints each target with its measured value, its baseline and its goal. Ratios
are taken within this one run on this one machine. Each run is timed as
``run_campaign`` times it (flow building included), with the workers' fork server
ready, as it is in ``lpsflow run``: the command starts it before it imports
anything heavy (``lpsflow.dispatch.processes``).

    python benchmarks/campaign.py                      # configs/quick.yaml
    python benchmarks/campaign.py --no-baseline        # skip step 3 (the long one)
    python benchmarks/campaign.py --config c.yaml --device cuda --json out.json

Target 6 also asks for the study-size campaign's CPU time, hours of work on 2 cores:
run it with ``lpsflow run configs/study-mlip.yaml`` (resumable) and pass
``--study configs/study-mlip.yaml`` to report what its store recorded. Target 7's
batched relaxation is measured on a GPU by ``batched.py``: pass its JSON with
``--batched`` to report it beside the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from relaxations import print_table  # noqa: E402  (this folder's module)

from lpsflow.dispatch.processes import auto_workers, wait_for_server  # noqa: E402
from lpsflow.dispatch.workers import peak_rss_mb as process_peak_mb  # noqa: E402
from lpsflow.speedups import DISABLE_ENV, SPEEDUPS  # noqa: E402

#: What the baseline switches off: every speed-up of the MLIP backend.
BASELINE_DISABLE = ",".join(SPEEDUPS)
#: atomate2's default optimiser of ForceFieldRelaxMaker.
BASELINE_OPTIMIZER = "FIRE"


def measure(campaign, store_dir: Path, work_dir: Path, workers: int = 1) -> dict:
    """Build and run ``campaign`` on the store in ``store_dir``; return the figures.

    Overhead is everything outside the calculator over the run's capacity (wall
    time x worker processes): time in jobs outside the model (optimiser, structure
    building, documents) plus workers left idle (the flow's dependencies, dispatch).
    """
    from lpsflow.dispatch.local import run_campaign
    from lpsflow.flows.campaign import build_campaign
    from lpsflow.store import embedded_stores

    t0, epoch0 = time.perf_counter(), time.time()
    cpu0 = time.process_time()
    cflow = build_campaign(campaign)
    stores = embedded_stores(store_dir).connect()
    try:
        report = run_campaign(
            campaign,
            stores,
            work_dir,
            echo=lambda _: None,
            cflow=cflow,
            workers=workers,
        )
    finally:
        stores.close()
    if report.failed or report.skipped:
        # a run that skipped work is faster for the wrong reason: no figures from it
        msgs = sorted(set(report.failed.values()))
        raise SystemExit(
            f"{len(report.failed)} jobs failed, {len(report.skipped)} skipped in "
            f"{', '.join(campaign.accelerants)}: " + "; ".join(msgs[:3])
        )
    wall = time.perf_counter() - t0
    calc_s = report.calculator_s
    capacity = wall * workers
    busy = sum(report.job_s.values())
    role_s = {
        role: report.job_s[uuid]
        for role, uuid in cflow.roles.items()
        if uuid in report.job_s
    }
    role_calc_s = {
        role: report.job_calculator_s[uuid]
        for role, uuid in cflow.roles.items()
        if uuid in report.job_calculator_s
    }
    return {
        "accelerants": campaign.accelerants,
        "jobs": report.total,
        "computed": len(report.completed),
        "reused": report.reused,
        "failed": len(report.failed),
        "workers": workers,
        "wall_s": wall,
        "cpu_s": time.process_time() - cpu0,
        "force_calls": report.force_calls,
        "worker_peak_rss_mb": report.worker_peak_rss_mb,
        "calculator_s": calc_s,
        "job_s": busy,
        "overhead_fraction": 1 - calc_s / capacity if wall else 0.0,
        "in_job_overhead_fraction": (busy - calc_s) / capacity if wall else 0.0,
        "idle_fraction": 1 - busy / capacity if wall else 0.0,
        "role_s": role_s,
        "role_calculator_s": role_calc_s,
        "role_span": {
            role: [round(t - epoch0, 3) for t in report.job_span[uuid]]
            for role, uuid in cflow.roles.items()
            if uuid in report.job_span
        },
        "idle_s": idle_split(list(report.job_span.values()), epoch0, wall, workers),
    }


def idle_split(
    spans: list[tuple[float, float]], start: float, wall: float, workers: int
) -> dict[str, float]:
    """Worker-seconds left idle: before the first job, while jobs wait, at the end.

    ``spans`` are the (start, end) times of the jobs; ``start`` and ``wall`` those of
    the run (flow building included). "end" is the idle time after the last job
    started (the flow's last chain running alone).
    """
    if not spans:
        return {"start": workers * wall, "between": 0.0, "end": 0.0}
    end = start + wall
    first = min(s for s, _ in spans)
    last_start = max(s for s, _ in spans)
    edges = sorted({start, end, *(t for span in spans for t in span)})
    idle = {"start": workers * (first - start), "between": 0.0, "end": 0.0}
    for a, b in pairwise(edges):
        if a < first:
            continue
        mid = (a + b) / 2
        running = sum(s <= mid < e for s, e in spans)
        free = max(workers - running, 0) * (b - a)
        idle["end" if a >= last_start else "between"] += free
    return idle


def work_split(run: dict) -> tuple[float, dict[str, float]]:
    """Job seconds of ``run``: shared by all accelerants, and each accelerant's own."""
    accs = run["accelerants"]
    own = dict.fromkeys(accs, 0.0)
    shared = 0.0
    for role, sec in run.get("role_s", {}).items():
        hit = [a for a in accs if a in role.split(":")]
        if hit:
            own[hit[0]] += sec
        else:
            shared += sec
    return shared, own


def load(config: str, device: str | None, optimizer: str | None = None):
    """The campaign of ``config``, its device/optimiser replaced if given."""
    from lpsflow.campaign import load_campaign

    campaign = load_campaign(config)
    calc = {}
    if device:
        calc["device"] = device
    if optimizer:
        calc["optimizer"] = optimizer
    if calc:
        campaign = campaign.model_copy(
            update={"calculator": campaign.calculator.model_copy(update=calc)}
        )
    if optimizer:  # the NEB band too (atomate2's ASE NEB makers use FIRE)
        campaign = campaign.model_copy(
            update={"neb": campaign.neb.model_copy(update={"optimizer": optimizer})}
        )
    return campaign


def one(campaign, accelerant: str):
    """``campaign`` restricted to one accelerant."""
    return campaign.model_copy(update={"accelerants": [accelerant]})


def baseline_child(args) -> None:
    """Run one accelerant the straightforward way (called in a subprocess)."""
    campaign = one(load(args.config, args.device, BASELINE_OPTIMIZER), args.accelerant)
    with tempfile.TemporaryDirectory() as tmp:
        # one by one: the baseline switches parallel_jobs off with the rest
        workers = auto_workers(campaign.calculator)
        r = measure(campaign, Path(tmp) / "store", Path(tmp) / "work", workers)
    r["peak_rss_mb"] = process_peak_mb()
    Path(args.json).write_text(json.dumps(r))


def run_baseline(config: str, device: str | None, accelerants: list[str]) -> dict:
    """One flow per accelerant in its own process and store, one after the other."""
    runs = []
    for acc in accelerants:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            cmd = [sys.executable, __file__, "--config", config, "--json", out.name]
            cmd += ["--baseline-child", acc] + (["--device", device] if device else [])
            env = {**os.environ, DISABLE_ENV: BASELINE_DISABLE}
            t0 = time.perf_counter()
            subprocess.run(cmd, env=env, check=True)
            r = json.loads(Path(out.name).read_text())
            r["process_wall_s"] = time.perf_counter() - t0  # model loading included
            runs.append(r)
            print(
                f"  baseline {acc}: {r['jobs']} jobs, {r['process_wall_s']:.0f} s, "
                f"{r['force_calls']} force calls",
                flush=True,
            )
    return {
        "runs": runs,
        "wall_s": sum(r["process_wall_s"] for r in runs),
        "force_calls": sum(r["force_calls"] for r in runs),
        "jobs": sum(r["jobs"] for r in runs),
    }


def peak_rss_mb(workers: int, runs: list[dict]) -> float:
    """Peak memory: this process, ``workers`` x the largest worker, the fork server.

    An upper bound: the workers' peaks are taken as simultaneous, and pages a forked
    worker shares with the fork server (the imported modules) are counted in both.
    The workers report their own peaks (a forked worker is not this process's child).
    """
    own = process_peak_mb()
    if workers == 1:
        return own
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    worker = max([child, *(r.get("worker_peak_rss_mb", 0.0) for r in runs)])
    return own + workers * worker + fork_server_peak_mb()


def fork_server_peak_mb() -> float:
    """Peak memory of the workers' fork server (0 if none, or no /proc)."""
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    try:
        with open(f"/proc/{pid}/status") as f:
            hwm = next(line for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0.0
    return float(hwm.split()[1]) / 1024  # kB


def machine() -> str:
    """This machine in one line."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{gpu}, Python {platform.python_version()}, torch {torch.__version__}"
    )


def targets(f: dict) -> list[tuple[str, str, str, str, bool | None]]:
    """(target, measured, baseline, goal, met) rows."""
    rn, r1, rr = f["all_accelerants"], f["one_accelerant"], f["rerun"]
    n = len(rn["accelerants"])
    rows = [
        (
            f"1 sharing: {n} accelerants / 1",
            f"{f['sharing_ratio']:.2f}x ({rn['wall_s']:.0f} s)",
            f"1 accelerant: {r1['wall_s']:.0f} s",
            "<= 1.6x",
            f["sharing_ratio"] <= 1.6,
        )
    ]
    if rn.get("role_s"):
        shared, own = work_split(rn)
        first = own[rn["accelerants"][0]]
        bound = (shared + sum(own.values())) / (shared + first)
        rows.append(
            (
                "1  work: shared / per accelerant",
                f"{shared:.0f} s / {first:.0f} s ({rn['accelerants'][0]})",
                f"perfect sharing: >= {bound:.2f}x",
                "",
                None,
            )
        )
    b = f.get("baseline")
    if b:
        ours = rn if len(f["baseline_compared_with"]) == n else r1
        rows.append(
            (
                f"2 against atomate2 flows ({', '.join(f['baseline_compared_with'])})",
                f"{f['baseline_ratio']:.2f}x ({ours['wall_s']:.0f} s, "
                f"{ours['force_calls']} calls)",
                f"{b['wall_s']:.0f} s, {b['force_calls']} calls",
                "<= 0.5x",
                f["baseline_ratio"] <= 0.5,
            )
        )
    else:
        rows.append(("2 against the straightforward way", "not run", "-", "", None))
    rx = f.get("relaxations")
    if rx:
        opt = rx["setups"][0]
        rows.append(
            (
                f"3 force calls, {len(rx['cases'])} relaxations",
                f"{rx['ratios'][opt]:.2f}x fewer ({opt}: {rx['totals'][opt]})",
                f"atomate2 FIRE: {rx['totals']['atomate2_default']}",
                ">= 1.5x",
                rx["ratios"][opt] >= 1.5,
            )
        )
    rows += [
        (
            "4 overhead (outside the calculator)",
            f"{100 * rn['overhead_fraction']:.1f} %"
            + (
                f" (in jobs {100 * rn['in_job_overhead_fraction']:.1f} %, idle "
                f"workers {100 * rn['idle_fraction']:.1f} %)"
                if "idle_fraction" in rn
                else ""
            )
            + (
                " idle worker-s: start {start:.0f}, waits {between:.0f}, "
                "end {end:.0f}".format(**rn["idle_s"])
                if "idle_s" in rn
                else ""
            ),
            f"baseline: {100 * b['runs'][0]['overhead_fraction']:.1f} %" if b else "-",
            "<= 5 %",
            rn["overhead_fraction"] <= 0.05,
        ),
        (
            "5 resume: re-run / first run",
            f"{100 * f['resume_fraction']:.2f} % ({rr['wall_s']:.1f} s)",
            f"first run: {rn['wall_s']:.0f} s",
            "<= 2 %",
            f["resume_fraction"] <= 0.02,
        ),
        (
            f"6 absolute: all descriptors, {n} accelerants",
            f"{rn['wall_s'] / 60:.1f} min ({rn['jobs']} jobs)",
            f"baseline ({len(b['runs'])} acc.): {b['wall_s'] / 60:.1f} min"
            if b
            else "-",
            "<= 10 min",
            rn["wall_s"] <= 600,
        ),
        (
            "6 peak memory",
            f"{f['peak_rss_mb'] / 1024:.2f} GB",
            f"baseline: {max(r['peak_rss_mb'] for r in b['runs']) / 1024:.2f} GB"
            if b
            else "-",
            "<= 4 GB",
            f["peak_rss_mb"] <= 4096,
        ),
        *([study_row(f["study"])] if "study" in f else []),
        (
            "7 device",
            f"{f['device']}",
            "",
            "GPU where available",
            None,
        ),
        *(batched_rows(f["batched"]) if "batched" in f else []),
    ]
    return rows


#: What lpsflow does with each kind of work on a GPU (``lpsflow.calculators.batch``):
#: relaxations run as separate jobs on worker processes sharing the device, the
#: images of an NEB band go through the model in one batch.
LPSFLOW_CHOICE = {"relaxations": "workers", "neb": "batched"}


def batched_rows(bt: dict) -> list[tuple]:
    """Target 7's batching lines from a ``batched.py`` JSON: is the faster way used?"""
    rows = []
    best = {"batch": 0.0, "workers": 0.0}
    for spec, runs in bt["sets"].items():
        workers = max(
            (r["speedup"], m) for m, r in runs.items() if m.startswith("workers")
        )
        batch = runs["together"]["speedup"]
        best["batch"] = max(best["batch"], batch)
        best["workers"] = max(best["workers"], workers[0])
        rows.append(
            (
                f"7 relax {spec} ({bt.get('gpu', bt['device'])})",
                f"batch {batch:.2f}x",
                f"{workers[1]}: {workers[0]:.2f}x (one by one: 1x)",
                "the faster way",
                (batch > workers[0]) == (LPSFLOW_CHOICE["relaxations"] == "batched"),
            )
        )
    if "neb" in bt:
        neb = bt["neb"]["batched"]["speedup"]
        rows.append(
            (
                f"7 NEB band, {bt['neb']['images']} images",
                f"batched {neb:.2f}x",
                "images one by one: 1x",
                "the faster way",
                (neb > 1) == (LPSFLOW_CHOICE["neb"] == "batched"),
            )
        )
    return rows


def study_row(st: dict) -> tuple:
    """Target 6's study-size line: the CPU time of a finished campaign's jobs."""
    complete = st["done"] == st["jobs"] == st["timed"] and st["current_definition"]
    return (
        f"6 study size: {st['campaign']}, {len(st['accelerants'])} acc.",
        f"{st['cpu_s'] / 3600:.2f} CPU-h ({st['timed']}/{st['jobs']} jobs, "
        f"{st['force_calls']} calls)",
        "-" if complete else "incomplete or an older definition",
        "report it",
        None,
    )


def measure_all(full, args) -> tuple[dict, dict, dict]:
    """Steps 1, 2 and 3 (see the module docstring)."""
    from relaxations import campaign_cases, compare

    from lpsflow.calculators.mlip import mlip_calculator
    from lpsflow.store import embedded_stores

    n = len(full.accelerants)
    here = machine()
    print(f"machine: {here}")
    print(f"config:  {args.config} ({', '.join(full.accelerants)})", flush=True)
    figures: dict = {
        "machine": here,
        "config": args.config,
        "device": full.calculator.device,
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store_n = Path(args.keep_store) if args.keep_store else tmp / "storeN"
        w = args.workers or auto_workers(full.calculator)
        print(f"worker processes: {w}")
        if w == 1:  # load the model once so that no measured run pays for it alone
            mlip_calculator(full.calculator.model, full.calculator.device)
        else:  # as `lpsflow run`, whose fork server imports while the command does
            wait_for_server()
        print("running 1 accelerant ...", flush=True)
        r1 = measure(one(full, full.accelerants[0]), tmp / "store1", tmp / "work1", w)
        print(f"running {n} accelerants ...", flush=True)
        rn = measure(full, store_n, tmp / "workN", w)
        print("re-running the finished campaign ...", flush=True)
        rr = measure(full, store_n, tmp / "workN", w)
        figures |= {"one_accelerant": r1, "all_accelerants": rn, "rerun": rr}
        figures["workers"] = w
        figures["sharing_ratio"] = rn["wall_s"] / r1["wall_s"]
        figures["resume_fraction"] = rr["wall_s"] / rn["wall_s"]
        figures["peak_rss_mb"] = peak_rss_mb(w, [r1, rn, rr])
        if args.json:  # kept if a later stage fails (--resume-from reuses it)
            Path(args.json).write_text(json.dumps(figures, indent=2))
        if not args.no_relaxations:
            print("force calls per relaxation (atomate2 default vs lpsflow) ...")
            stores = embedded_stores(store_n).connect()
            try:
                cases = campaign_cases(stores, full.name)
            finally:
                stores.close()
            figures["relaxations"] = compare(cases, [full.calculator])
    return figures, r1, rn


def study_cost(config: str) -> dict:
    """CPU time, jobs and force calls a campaign's store recorded (lpsflow status)."""
    from lpsflow.campaign import load_campaign
    from lpsflow.status import store_status
    from lpsflow.store import open_stores

    campaign = load_campaign(config)
    stores = open_stores(campaign.store, campaign.base_dir)
    try:
        st = store_status(stores, campaign.name)
    finally:
        stores.close()
    return {
        "config": config,
        "campaign": campaign.name,
        "accelerants": list(campaign.accelerants),
        "jobs": st.total,
        "done": st.done,
        "timed": st.timed,
        "cpu_s": st.cpu_s,
        "job_s": st.wall_s,
        "force_calls": st.force_calls,
        "definition_hash": st.definition_hash,
        "current_definition": st.definition_hash == campaign.definition_hash(),
    }


def main() -> None:
    """Run the benchmark and print a report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "quick.yaml"))
    parser.add_argument("--device", help="torch device (default: the config's)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the straightforward way"
    )
    parser.add_argument(
        "--no-relaxations", action="store_true", help="skip the force-call comparison"
    )
    parser.add_argument(
        "--baseline-accelerants",
        type=int,
        help="run the baseline for the first N accelerants only and compare it "
        "with the run of as many (default: all)",
    )
    parser.add_argument(
        "--resume-from",
        help="JSON of an earlier run of this benchmark on this machine: reuse its "
        "measurements and run only what it lacks (e.g. the baseline)",
    )
    parser.add_argument("--keep-store", help="keep the full run's store here")
    parser.add_argument(
        "--study",
        metavar="CAMPAIGN_YAML",
        help="a study-size campaign run with lpsflow run: report the CPU time its "
        "store recorded (target 6)",
    )
    parser.add_argument(
        "--batched",
        metavar="BATCHED_JSON",
        help="a benchmarks/batched.py JSON (run on a GPU): report target 7's "
        "batched relaxation against worker processes",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="worker processes of lpsflow's runs (default: lpsflow run's choice)",
    )
    parser.add_argument("--baseline-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # third-party deprecation noise
    if args.baseline_child:
        args.accelerant = args.baseline_child
        baseline_child(args)
        return

    full = load(args.config, args.device)
    n = len(full.accelerants)
    if args.resume_from:
        figures = json.loads(Path(args.resume_from).read_text())
        r1, rn = figures["one_accelerant"], figures["all_accelerants"]
        print(f"measurements of {args.resume_from} ({figures['machine']})")
    else:
        figures, r1, rn = measure_all(full, args)
    if args.study:
        figures["study"] = study_cost(args.study)
    if args.batched:
        figures["batched"] = json.loads(Path(args.batched).read_text())
    report(figures, args.json)
    if not args.no_baseline:
        print("\nthe straightforward way: one atomate2 flow per accelerant ...")
        k = args.baseline_accelerants or n
        if k not in (1, n):
            raise SystemExit("--baseline-accelerants must be 1 or all")
        b = run_baseline(args.config, args.device, full.accelerants[:k])
        ours = rn if k == n else r1  # lpsflow's run of the same accelerants
        figures["baseline"] = b
        figures["baseline_compared_with"] = ours["accelerants"]
        figures["baseline_ratio"] = ours["wall_s"] / b["wall_s"]
        report(figures, args.json)


def report(figures: dict, json_path: str | None) -> None:
    """Print the runs, the force-call table and the targets; write the JSON."""
    r1, rn, rr = (figures[k] for k in ("one_accelerant", "all_accelerants", "rerun"))
    n = len(rn["accelerants"])
    print()
    print(
        f"{'run':28s} {'jobs':>5s} {'wall s':>8s} {'force calls':>12s} "
        f"{'in calc s':>10s} {'overhead':>9s}"
    )
    runs = [
        (f"1 accelerant ({r1['accelerants'][0]})", r1),
        (f"{n} accelerants", rn),
        (f"{n} accelerants, rerun", rr),
    ]
    runs += [
        (f"baseline {r['accelerants'][0]}", r)
        for r in figures.get("baseline", {}).get("runs", [])
    ]
    for label, r in runs:
        print(
            f"{label:28s} {r['jobs']:5d} {r['wall_s']:8.1f} {r['force_calls']:12d} "
            f"{r['calculator_s']:10.1f} {100 * r['overhead_fraction']:8.1f}%"
        )
    if "relaxations" in figures:
        print()
        print_table(figures["relaxations"])
    print()
    print(f"{'target':44s} {'measured':34s} {'baseline':30s} {'goal':10s} met")
    for name, value, base, goal, met in targets(figures):
        flag = {True: "yes", False: "NO", None: "-"}[met]
        print(f"{name:44s} {value:34s} {base:30s} {goal:10s} {flag}", flush=True)
    if json_path:
        Path(json_path).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
