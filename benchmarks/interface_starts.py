"""The interface's own minimum: relax the screened cells a campaign did not use.

A campaign relaxes each interface of E_bind(n) from one cell: the in-plane rigid
shift with the lowest MLIP single point. This script takes the interfaces of a
finished campaign, rebuilds their screened cells from the campaign's store (the
function the screen job runs: the same cells, the same single points), relaxes the
cells of the single-point ranks asked for with the campaign's own relaxation
settings, and prints how far each ends from the campaign's relaxed interface: in eV
and in meV/A^2 of E_bind (negative: the campaign's interface missed a lower minimum
by that much, and E_bind is that much too weak).

    python benchmarks/interface_starts.py configs/quick.yaml --json starts.json
    python benchmarks/interface_starts.py study.yaml --roles \
        relax:interface:homo:Li7P3S11:n2 --ranks 1 2 --distinct

Rank 1 is the campaign's own start: relaxing it again checks that this script
reproduces the stored relaxation (to round-off). ``--distinct`` skips cells whose
single point lies within 1 meV of a cell already ranked (symmetry-equivalent
registries), so rank 2 is the next distinct registry: the cell that
``interfaces.relax_top: 2`` relaxes too.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore
from pymatgen.core import Structure

from lpsflow.calculators import get_backend
from lpsflow.calculators.outputs import summarize
from lpsflow.campaign import load_campaign
from lpsflow.descriptors.binding.flow import INTERFACE_PHASE
from lpsflow.descriptors.binding.jobs import registry_order, screen_shifts
from lpsflow.flows.campaign import build_campaign
from lpsflow.jobs.identity import arguments
from lpsflow.store import open_stores


def relax(maker, cell: Structure) -> tuple[float, bool, int, float]:
    """Energy, convergence, ionic steps and seconds of one relaxation."""
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    start = time.perf_counter()
    responses = run_locally(maker.make(cell), store=store, log=False)
    seconds = time.perf_counter() - start
    (response,) = (r[1] for r in responses.values())
    out = summarize(response.output)
    return out.energy, out.converged, out.n_steps or 0, seconds


def starts(config: str, roles: list[str] | None, ranks: list[int], distinct: bool):
    """Yield one record per (interface role, rank)."""
    campaign = load_campaign(config)
    built = build_campaign(campaign)
    stores = open_stores(campaign.store, campaign.base_dir).connect()
    jobs = {j.uuid: j for j in built.flow.jobs}
    maker = get_backend(campaign.calculator).relax_maker(
        INTERFACE_PHASE, relax_cell=False, fmax=campaign.interfaces.fmax
    )
    roles = roles or [
        r
        for r in built.roles
        if r.startswith("relax:interface:") and r.rsplit(":", 1)[-1][1:].isdigit()
    ]
    for role in roles:
        screen_role = role.replace("relax:", "screen:", 1)
        if role not in built.roles or screen_role not in built.roles:
            raise SystemExit(f"{role}: not an interface relaxation of this campaign")
        stored = stores.jobs.query_one(
            {"uuid": built.roles[role]}, properties=["output"]
        )
        if stored is None:
            raise SystemExit(f"{role}: not in the store yet (run the campaign first)")
        used = summarize(stored["output"])
        screen = jobs[built.roles[screen_role]]
        screen.resolve_args(store=stores.jobs)
        args = arguments(screen)
        del args["label"]  # screen_shifts does not need it
        shifted = screen_shifts(**args)
        area = shifted.iset.match.area
        order = registry_order(shifted.energies, distinct, rest=False)
        for rank in ranks:
            if rank > len(order):
                print(f"{role}: no rank {rank} ({len(order)} cells)", flush=True)
                continue
            i = order[rank - 1]
            cell = Structure.from_sites(shifted.cells[i])
            energy, converged, steps, seconds = relax(maker, cell)
            d_e = energy - used.energy
            row = {
                "role": role,
                "rank": rank,
                "cell": i,
                "atoms": len(cell),
                "area": area,
                "single_point_above_lowest_meV": 1000
                * (shifted.energies[i] - shifted.energies[order[0]]),
                "energy": energy,
                "campaign_energy": used.energy,
                "converged": converged,
                "steps": steps,
                "seconds": seconds,
                "dE_eV": d_e,
                "dE_bind_meV_A2": 1000 * d_e / area,
            }
            print(
                f"{role} rank {rank} (cell {i}, single point +"
                f"{row['single_point_above_lowest_meV']:.0f} meV): "
                f"{d_e:+.3f} eV from the campaign's, {row['dE_bind_meV_A2']:+.2f} "
                f"meV/A^2 ({steps} steps, {seconds:.0f} s"
                f"{'' if converged else ', NOT converged'})",
                flush=True,
            )
            yield row


def main() -> None:
    """Command line."""
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="campaign YAML whose run has finished")
    parser.add_argument("--roles", nargs="+", help="interface relaxation roles")
    parser.add_argument(
        "--ranks", nargs="+", type=int, default=[2], help="single-point ranks (2)"
    )
    parser.add_argument("--distinct", action="store_true", help="one per registry")
    parser.add_argument("--json", help="also write the records to this file")
    opts = parser.parse_args()
    rows = []
    for row in starts(opts.config, opts.roles, opts.ranks, opts.distinct):
        rows.append(row)
        if opts.json:  # keep what is done if a long run is stopped
            Path(opts.json).write_text(json.dumps(rows, indent=1))
    others = [r for r in rows if r["rank"] > 1 and r["converged"]]
    if others:
        lower = [r for r in others if r["dE_eV"] < -1e-3]
        worst = min(others, key=lambda r: r["dE_bind_meV_A2"])
        print(
            f"{len(lower)} of {len(others)} other starts ended lower than the "
            f"campaign's interface; lowest {worst['dE_bind_meV_A2']:+.2f} meV/A^2 "
            f"({worst['role']}, rank {worst['rank']})"
        )


if __name__ == "__main__":
    main()
