"""Force calls per relaxation: lpsflow's optimiser setup against atomate2's default.

Takes a fixed set of the campaign's own relaxations from a store that holds a run of
it (bulk phases, doped cores, a slab, interfaces, grain boundaries: the input
structure, cell freedom, fixed atoms and force tolerance of each), relaxes each
again from the same input with

* atomate2's default forcefield optimiser setup (``ForceFieldRelaxMaker`` defaults:
  FIRE, FrechetCellFilter), and
* each optimiser setup named in ``--setups`` (lpsflow's default first),

on the same model in this process, and prints the force calls each needed to reach
the same tolerance, with the final energies side by side.

    python benchmarks/relaxations.py --store configs/lpsflow-store --campaign quick
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from pymatgen.core import Structure

from lpsflow.calculators.mlip import STATS, MLIPBackend, optimizer_options
from lpsflow.calculators.outputs import as_plain
from lpsflow.campaign import CalculatorSettings
from lpsflow.store import embedded_stores

#: Which relaxations make the set: (label, role prefix), first matches taken in
#: order. Twelve roles: bulk phases, doped cores at three x and two schemes, a
#: slab, a film, the homo and a hetero interface, the homo and a hetero GB.
ROLE_SET = (
    ("bulk", "relax:Li3PS4"),
    ("bulk", "relax:Li7P3S11"),
    ("bulk", "relax:P2S5"),
    ("bulk", "relax:Al2S3"),
    ("doped", "relax:core:Al2S3:Li-site:0"),
    ("doped", "relax:core:Ga2S3:Li-site:1/8:0"),
    ("doped", "relax:core:SiS2:P-site:1/4:0"),
    ("slab", "relax:interface:homo:Li7P3S11:n1:substrate"),
    ("interface", "relax:interface:homo:Li7P3S11:n1"),
    ("interface", "relax:interface:hetero:Al2S3:n1"),
    ("GB", "relax:gb:homo:Li7P3S11"),
    ("GB", "relax:gb:hetero:Ga2S3"),
)


@dataclass
class Case:
    """One relaxation of the set, as the campaign ran it."""

    label: str
    role: str
    structure: Structure
    relax_cell: bool
    fmax: float
    steps: int


def campaign_cases(stores, campaign: str, role_set=ROLE_SET) -> list[Case]:
    """The set's relaxations found in ``campaign``'s store (inputs as run)."""
    man = stores.campaigns.query_one({"campaign": campaign})
    if man is None:
        raise SystemExit(f"no campaign '{campaign}' in the store")
    roles = {j["role"]: j["uuid"] for j in man["jobs"]}
    cases = []
    for label, prefix in role_set:
        role = next((r for r in roles if r == prefix), None) or next(
            (r for r in roles if r.startswith(prefix)), None
        )
        doc = role and stores.jobs.query_one({"uuid": roles[role]})
        if not doc:
            continue
        inp = as_plain(doc["output"])["input"]
        structure = Structure.from_dict(inp["mol_or_struct"])
        structure.properties = {}  # results of the run, not inputs
        for key in set(structure.site_properties) - {"selective_dynamics"}:
            structure.remove_site_property(key)  # e.g. magmoms: results, not inputs
        cases.append(
            Case(
                label=label,
                role=role,
                structure=structure,
                relax_cell=bool(inp["relax_cell"]),
                fmax=float(inp["relax_kwargs"]["fmax"]),
                steps=int(inp["steps"]),
            )
        )
    return cases


def relax_once(case: Case, settings: CalculatorSettings | None) -> dict:
    """Relax ``case`` with the optimiser of ``settings`` (None: atomate2's default).

    The maker is the one the campaign's backend builds, at the case's tolerance,
    step limit and cell freedom; atomate2's default drops its optimiser choice.
    """
    backend = MLIPBackend(
        (settings or CalculatorSettings()).model_copy(update={"max_steps": case.steps})
    )
    maker = backend.relax_maker("case", relax_cell=case.relax_cell, fmax=case.fmax)
    if settings is None:
        maker = replace(maker, relax_kwargs={"fmax": case.fmax}, optimizer_kwargs={})
    calls0, t0 = STATS.calls, time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        result = maker.run_ase(case.structure)  # writes its files in the cwd
    traj = result.trajectory
    energy = (
        traj.frame_properties[-1]["energy"]
        if hasattr(traj, "frame_properties")
        else traj.energy[-1]
    )
    return {
        "force_calls": STATS.calls - calls0,
        "seconds": time.perf_counter() - t0,
        "converged": result.is_force_converged,
        "energy_per_atom": float(energy) / len(case.structure),
    }


def setup_name(settings: CalculatorSettings) -> str:
    """``LBFGS a=10``: the optimiser and its initial Hessian."""
    opts = optimizer_options(settings)
    return settings.optimizer + (f" a={opts['alpha']:g}" if opts else "")


def compare(cases: list[Case], setups: list[CalculatorSettings], echo=print) -> dict:
    """Relax every case with atomate2's default and each setup; the figures."""
    optimizers = [setup_name(s) for s in setups]
    rows = []
    for case in cases:
        row = {
            "label": case.label,
            "role": case.role,
            "atoms": len(case.structure),
            "relax_cell": case.relax_cell,
            "fmax": case.fmax,
            "atomate2_default": relax_once(case, None),
        }
        for name, settings in zip(optimizers, setups, strict=True):
            row[name] = relax_once(case, settings)
        rows.append(row)
        echo(
            f"  {case.label:9s} {case.role:42s} {row['atoms']:4d} at. "
            + " ".join(
                f"{k}={row[k]['force_calls']}"
                for k in ("atomate2_default", *optimizers)
            )
        )
    totals = {
        k: sum(r[k]["force_calls"] for r in rows)
        for k in ("atomate2_default", *optimizers)
    }
    return {
        "setups": optimizers,
        "cases": rows,
        "totals": totals,
        "ratios": {opt: totals["atomate2_default"] / totals[opt] for opt in optimizers},
    }


def print_table(figures: dict) -> None:
    """The per-structure table and the totals."""
    optimizers = figures["setups"]
    head = f"{'structure':52s} {'atoms':>5s} {'atomate2 FIRE':>13s}"
    print(head + "".join(f" {o:>13s}" for o in optimizers) + "  dE meV/atom")
    for r in figures["cases"]:
        base = r["atomate2_default"]
        line = f"{r['label'] + ' ' + r['role']:52s} {r['atoms']:5d} "
        line += f"{base['force_calls']:13d}"
        for o in optimizers:
            flag = "" if r[o]["converged"] else "*"
            line += f" {r[o]['force_calls']:12d}{flag or ' '}"
        de = 1000 * (r[optimizers[0]]["energy_per_atom"] - base["energy_per_atom"])
        print(f"{line}  {de:+.2f}")
    t = figures["totals"]
    print(
        f"{'total force calls':52s} {'':5s} {t['atomate2_default']:13d}"
        + "".join(f" {t[o]:13d}" for o in optimizers)
    )
    print(
        "fewer force calls than atomate2's default: "
        + ", ".join(f"{o} {figures['ratios'][o]:.2f}x" for o in optimizers)
    )


def main() -> None:
    """Run the comparison on a store that holds a run of the campaign."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="embedded store directory")
    parser.add_argument("--campaign", default="quick")
    parser.add_argument(
        "--setups",
        nargs="+",
        default=["LBFGS:10", "LBFGS:70", "BFGS:70"],
        help="optimiser:initial Hessian pairs (lpsflow's default first)",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    stores = embedded_stores(Path(args.store)).connect()
    try:
        cases = campaign_cases(stores, args.campaign)
    finally:
        stores.close()
    setups = []
    for item in args.setups:
        opt, _, alpha = item.partition(":")
        setups.append(
            CalculatorSettings(optimizer=opt, hessian_guess=float(alpha or 10))
        )
    figures = compare(cases, setups)
    print_table(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
