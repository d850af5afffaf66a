"""CHGNet on a torch device: cost per evaluation, one vs two backward passes, batches.

Measures, on ``--device`` (cpu, cuda, ...), for beta-Li3PS4 supercells of several
sizes:

* seconds per energy/forces/stress evaluation through chgnet's own ASE calculator
  and through lpsflow's :class:`FastCHGNetCalculator` (one backward pass), and the
  largest force difference between them;
* seconds per structure when ``--batch`` structures go through the model in one
  batch, against one at a time (what a batched relaxation such as torch-sim's
  would gain; graphs built beforehand in both);
* one relaxation (LBFGS, soft initial Hessian, FrechetCellFilter) of a rattled
  128-atom cell: force calls and wall time.

Needs only torch, chgnet, pymatgen and ASE (it runs on a GPU machine without the
rest of lpsflow's stack):

    python benchmarks/device.py --device cuda --json device.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflows"))
CIF = ROOT / "workflows" / "lpsflow" / "structures" / "data" / "Li3PS4_beta.cif"


def per_call(atoms, calc, repeats: int) -> float:
    """Median seconds of one energy/forces/stress evaluation (after a warm-up)."""
    atoms.calc = calc
    times = []
    for i in range(repeats + 2):
        atoms.positions[0, 0] += 1e-3 * (-1) ** i  # a new geometry every call
        t0 = time.perf_counter()
        atoms.get_forces()
        atoms.get_stress()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def batched(model, structures, device: str, repeats: int) -> tuple[float, float]:
    """Seconds per structure: one batch of all, and one structure at a time."""
    import torch

    graphs = [model.graph_converter(s).to(device) for s in structures]

    def timed(fn) -> float:
        fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return (time.perf_counter() - t0) / repeats / len(graphs)

    kw = {"task": "efs", "batch_size": len(graphs)}
    one_batch = timed(lambda: model.predict_graph(graphs, **kw))
    one_by_one = timed(lambda: [model.predict_graph(g, task="efs") for g in graphs])
    return one_batch, one_by_one


def relax(structure, calc, fmax: float = 0.02) -> dict:
    """LBFGS (alpha 10) with the cell: force calls and seconds."""
    from ase.filters import FrechetCellFilter
    from ase.optimize import LBFGS
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = calc
    calls = [0]
    inner = calc.calculate

    def counted(*args, **kwargs):
        calls[0] += 1
        return inner(*args, **kwargs)

    calc.calculate = counted
    t0 = time.perf_counter()
    opt = LBFGS(FrechetCellFilter(atoms), alpha=10.0, logfile=None)
    converged = opt.run(fmax=fmax, steps=500)
    calc.calculate = inner
    return {
        "force_calls": calls[0],
        "seconds": time.perf_counter() - t0,
        "converged": bool(converged),
        "atoms": len(atoms),
    }


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", nargs="+", default=["2,2,1", "2,2,2", "4,2,2"])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--json")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    import numpy as np
    import torch
    from chgnet.model.dynamics import CHGNetCalculator
    from pymatgen.core import Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    from lpsflow.calculators.chgnet_fast import FastCHGNetCalculator

    dev = args.device
    name = torch.cuda.get_device_name(0) if dev.startswith("cuda") else "cpu"
    figures: dict = {
        "device": f"{dev} ({name}), torch {torch.__version__}, "
        f"{torch.get_num_threads()} CPU threads, {platform.machine()}",
        "sizes": [],
    }
    print(figures["device"], flush=True)
    stock = CHGNetCalculator(use_device=dev, stress_unit="eV/A3")
    fast = FastCHGNetCalculator(use_device=dev, stress_unit="eV/A3")
    base = Structure.from_file(CIF)
    print(f"{'atoms':>6s} {'chgnet s/call':>14s} {'one-backward':>13s} {'ratio':>6s}")
    for size in args.sizes:
        s = base.copy()
        s.make_supercell([int(n) for n in size.split(",")])
        s.perturb(0.05, 0.0)
        atoms = AseAtomsAdaptor.get_atoms(s)
        t_stock = per_call(atoms.copy(), stock, args.repeats)
        t_fast = per_call(atoms.copy(), fast, args.repeats)
        a, b = atoms.copy(), atoms.copy()
        a.calc, b.calc = stock, fast
        dforce = float(np.abs(a.get_forces() - b.get_forces()).max())
        row = {
            "atoms": len(s),
            "chgnet_s": t_stock,
            "one_backward_s": t_fast,
            "speedup": t_stock / t_fast,
            "max_force_difference": dforce,
        }
        figures["sizes"].append(row)
        print(
            f"{len(s):6d} {t_stock:14.4f} {t_fast:13.4f} {t_stock / t_fast:5.2f}x"
            f"  (|dF| <= {dforce:.1e} eV/A)",
            flush=True,
        )
    s = base.copy()
    s.make_supercell([2, 2, 1])
    structures = []
    for i in range(args.batch):
        t = s.copy()
        t.perturb(0.05 + 0.001 * i, 0.0)
        structures.append(t)
    b_time, seq_time = batched(stock.model, structures, dev, max(2, args.repeats // 3))
    figures["batch"] = {
        "structures": args.batch,
        "atoms": len(s),
        "batched_s_per_structure": b_time,
        "one_by_one_s_per_structure": seq_time,
        "speedup": seq_time / b_time,
    }
    print(
        f"batch of {args.batch} x {len(s)} atoms: {b_time:.4f} s/structure, one by "
        f"one {seq_time:.4f} s/structure ({seq_time / b_time:.2f}x)",
        flush=True,
    )
    r = s.copy()
    r.perturb(0.1, 0.05)
    figures["relaxation"] = relax(r, fast)
    rx = figures["relaxation"]
    print(
        f"relaxation of {rx['atoms']} atoms (LBFGS a=10, cell): {rx['force_calls']} "
        f"force calls, {rx['seconds']:.1f} s, converged {rx['converged']}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
