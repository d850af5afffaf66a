"""Batched relaxation against the alternatives on one device (issue #8, target 7).

Relaxes sets of the campaign's kinds of structures with lpsflow's relaxation settings
(LBFGS from a soft initial Hessian, ``alpha`` 10; the cell with
``OnceFrechetCellFilter`` where the set relaxes it) in three ways, timed from the
moment the model is loaded:

* ``sequential``: one process, one structure after the other;
* ``together``: one process, all structures at once, their force calls met in one
  model call per step (:func:`lpsflow.calculators.batch.relax_together`);
* ``workers:N``: N processes sharing the device, each relaxing its share one after
  the other (what ``lpsflow run`` does on a GPU: one worker per core, up to 8);

and an NEB band (``--neb`` images, ODE12r as lpsflow runs it) with its images
evaluated one by one and as one batch.
It prints the wall time, the force calls and the ratio to ``sequential`` of each,
and how far the final energies of ``together`` and ``workers`` are from
``sequential``'s (they must agree: the same trajectories).

    python benchmarks/batched.py --device cuda --json batched.json
    python benchmarks/batched.py --device cpu --sets vacancy:4 --workers 2   # a try

Sets (``name:count``): ``vacancy`` (beta-Li3PS4 2x1x2 cells, one Li removed: 127
atoms, cell fixed, as the mu_Li jobs), ``doped`` (one Li -> Al and two Li removed:
126 atoms, strained, cell relaxed, as the doped cores), ``large`` (2x2x2 with a
vacancy: 255 atoms, cell fixed; the size of the quick interfaces and GB cells).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflows"))

FMAX = 0.02  # eV/A, the quick campaign's tolerance
STEPS = 600


def make_set(name: str, count: int) -> list:
    """``count`` structures of the set ``name`` (ASE Atoms, deterministic)."""
    import numpy as np
    from pymatgen.io.ase import AseAtomsAdaptor

    from lpsflow.structures.library import load_structure

    warnings.filterwarnings("ignore")
    base = load_structure("Li3PS4")
    out = []
    for i in range(count):
        rng = np.random.default_rng(100 + i)
        s = base * ([2, 2, 2] if name == "large" else [2, 1, 2])
        li = s.indices_from_symbol("Li")
        if name == "doped":
            s.replace(li[(7 * i) % len(li)], "Al")
            s.remove_sites([li[(7 * i + 3) % len(li)], li[(7 * i + 11) % len(li)]])
            s.apply_strain(rng.uniform(-0.02, 0.02, 3))
        elif name in ("vacancy", "large"):
            s.remove_sites([li[(5 * i) % len(li)]])
        else:
            raise SystemExit(f"unknown set {name} (vacancy, doped, large)")
        s.perturb(0.05, 0.0, seed=200 + i)
        out.append(AseAtomsAdaptor.get_atoms(s))
    return out


def relax_one(atoms, relax_cell: bool) -> tuple[int, float]:
    """lpsflow's relaxation settings: steps taken and final energy."""
    from ase.optimize import LBFGS

    from lpsflow.calculators.cell_filter import OnceFrechetCellFilter

    target = OnceFrechetCellFilter(atoms) if relax_cell else atoms
    opt = LBFGS(target, alpha=10, logfile=None)
    opt.run(fmax=FMAX, steps=STEPS)
    return int(opt.nsteps), float(atoms.get_potential_energy())


def load(device: str):
    from lpsflow.calculators.mlip import STATS, new_calculator

    calc = new_calculator("CHGNet", device)
    return calc, STATS


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _prepared(device: str, set_name: str, count: int, part: slice = slice(None)):
    """The model (warmed up, counters zeroed) and the set's structures ``part``."""
    calc, stats = load(device)
    structures = make_set(set_name, count)[part]
    _warm(calc, structures[0])
    stats.reset()
    return calc, stats, structures


def _one_after_another(calc, structures, relax_cell: bool) -> list:
    out = []
    for atoms in structures:
        atoms.calc = calc
        out.append(relax_one(atoms, relax_cell))
    return out


def run_sequential(device: str, set_name: str, count: int) -> dict:
    calc, stats, structures = _prepared(device, set_name, count)
    t0 = time.perf_counter()
    out = _one_after_another(calc, structures, set_name == "doped")
    _sync(device)
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "calls": stats.calls, "steps": [s for s, _ in out],
            "energies": [e for _, e in out]}  # fmt: skip


def run_together(device: str, set_name: str, count: int) -> dict:
    from lpsflow.calculators.batch import BatchGroup, relax_together

    calc, stats, structures = _prepared(device, set_name, count)
    relax_cell = set_name == "doped"
    group = BatchGroup(calc)
    t0 = time.perf_counter()
    out = relax_together(group, structures, lambda a: relax_one(a, relax_cell))
    _sync(device)
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "calls": stats.calls, "batches": group.batches,
            "steps": [s for s, _ in out], "energies": [e for _, e in out]}  # fmt: skip


def _warm(calc, atoms) -> None:
    a = atoms.copy()
    a.calc = calc
    a.get_forces()
    a.positions[0, 0] += 1e-3
    a.get_forces()


def _worker(args) -> dict:
    device, set_name, count, index, n_workers, barrier = args
    part = slice(index, None, n_workers)
    calc, stats, structures = _prepared(device, set_name, count, part)
    barrier.wait()
    t0 = time.perf_counter()
    out = _one_after_another(calc, structures, set_name == "doped")
    _sync(device)
    return {"t0": t0, "t1": time.perf_counter(), "calls": stats.calls,
            "steps": [s for s, _ in out], "energies": [e for _, e in out]}  # fmt: skip


def run_workers(device: str, set_name: str, count: int, n: int) -> dict:
    ctx = mp.get_context("spawn")  # CUDA does not survive a fork
    n = min(n, count)
    with ctx.Manager() as manager:
        barrier = manager.Barrier(n)
        with ctx.Pool(n) as pool:
            parts = pool.map(
                _worker, [(device, set_name, count, i, n, barrier) for i in range(n)]
            )
    energies = [0.0] * count
    steps = [0] * count
    for i, p in enumerate(parts):
        energies[i::n] = p["energies"]
        steps[i::n] = p["steps"]
    wall = max(p["t1"] for p in parts) - min(p["t0"] for p in parts)
    return {"wall_s": wall, "calls": sum(p["calls"] for p in parts),
            "steps": steps, "energies": energies}  # fmt: skip


def run_neb(device: str, images: int, batched: bool) -> dict:
    """A Li hop into a vacancy (126-atom images), CI-NEB as lpsflow runs it (ODE12r,
    improved tangent, endpoints fixed), images one by one or batched."""
    import numpy as np
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.mep import NEB
    from ase.mep.neb import NEBOptimizer

    from lpsflow.calculators.batch import BatchGroup, attach

    calc, stats = load(device)
    host = make_set("vacancy", 1)[0]
    li = [i for i, s in enumerate(host.get_chemical_symbols()) if s == "Li"]
    a, b = host.copy(), host.copy()
    d = np.linalg.norm(host.positions[li] - host.positions[li[0]], axis=1)
    j = li[int(np.argsort(d)[1])]  # the nearest other Li hops into li[0]'s site
    b.positions[j] = host.positions[li[0]]
    del a[li[0]]
    del b[li[0]]
    band = [a, *(a.copy() for _ in range(images)), b]
    for im in (band[0], band[-1]):
        im.calc = calc
        e, f = im.get_potential_energy(), im.get_forces()
        im.calc = SinglePointCalculator(im, energy=e, forces=f)
    neb = NEB(band, climb=True, method="improvedtangent", allow_shared_calculator=True)
    neb.interpolate()
    group = BatchGroup(calc)
    if batched:
        attach(group, band[1:-1])
    else:
        for im in band[1:-1]:
            im.calc = calc
    _warm(calc, a)
    stats.reset()
    t0 = time.perf_counter()
    opt = NEBOptimizer(neb, method="ode", logfile=None)
    opt.run(fmax=0.1, steps=60)
    _sync(device)
    return {"wall_s": time.perf_counter() - t0, "calls": stats.calls,
            "steps": int(opt.nsteps),
            "energies": [float(e) for e in neb.energies]}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--sets", nargs="+", default=["vacancy:8", "doped:8", "large:4"])
    p.add_argument("--workers", nargs="*", type=int, default=[4, 8])
    p.add_argument("--neb", type=int, default=5, help="NEB images (0: no NEB)")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    report: dict = {
        "script": "benchmarks/batched.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": platform.node(),
        "device": args.device,
        "fmax": FMAX,
        "sets": {},
    }
    if args.device.startswith("cuda"):
        import torch

        report["gpu"] = torch.cuda.get_device_name(0)
    print(f"device {args.device}; relaxations to {FMAX} eV/A, LBFGS alpha 10")
    print(
        f"{'set':<12}{'mode':<12}{'wall s':>9}{'calls':>8}{'x seq':>8}{'max dE eV':>11}"
    )
    for spec in args.sets:
        name, _, count = spec.partition(":")
        count = int(count or 8)
        runs = {"sequential": run_sequential(args.device, name, count)}
        runs["together"] = run_together(args.device, name, count)
        for n in args.workers:
            runs[f"workers:{n}"] = run_workers(args.device, name, count, n)
        ref = runs["sequential"]
        for mode, r in runs.items():
            r["speedup"] = ref["wall_s"] / r["wall_s"]
            r["max_dE"] = max(
                abs(x - y) for x, y in zip(r["energies"], ref["energies"], strict=True)
            )
            row = f"{name + ':' + str(count):<12}{mode:<12}{r['wall_s']:>9.2f}"
            row += f"{r['calls']:>8}{r['speedup']:>8.2f}{r['max_dE']:>11.1e}"
            print(row, flush=True)
        report["sets"][spec] = runs
        _write(report, args.json)
    if args.neb:
        one = run_neb(args.device, args.neb, batched=False)
        batch = run_neb(args.device, args.neb, batched=True)
        batch["speedup"] = one["wall_s"] / batch["wall_s"]
        batch["max_dE"] = max(
            abs(x - y) for x, y in zip(one["energies"], batch["energies"], strict=True)
        )
        report["neb"] = {"images": args.neb, "one_by_one": one, "batched": batch}
        print(f"{'neb:' + str(args.neb):<12}{'one by one':<12}{one['wall_s']:>9.2f}"
              f"{one['calls']:>8}")  # fmt: skip
        row = f"{'neb:' + str(args.neb):<12}{'batched':<12}{batch['wall_s']:>9.2f}"
        row += f"{batch['calls']:>8}{batch['speedup']:>8.2f}{batch['max_dE']:>11.1e}"
        print(row, flush=True)
    _write(report, args.json)
    if args.json:
        print(f"wrote {args.json}")


def _write(report: dict, path: Path | None) -> None:
    if path:  # after each set: a run cut short keeps what it measured
        path.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
