"""Li vacancy migration barriers along the GB and across the grain (NEB)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pymatgen.core import Structure

from lpsflow import roles
from lpsflow.descriptors import spread
from lpsflow.descriptors.base import Verdict, number, pair
from lpsflow.descriptors.spread import Sample, lowest
from lpsflow.finished import outputs_of_step

if TYPE_CHECKING:
    from lpsflow.analysis.ranking import RankingConfig
    from lpsflow.descriptors.base import RowContext
    from lpsflow.store import Stores

PATHS = ("gb", "bulk")
#: Barriers (eV) closer than this are one hop computed twice.
BARRIER_TOL = 1e-3
#: Column suffix -> label (None: the row's accelerant).
LABELS = (("", None), ("_Li7P3S11", "Li7P3S11"))


def columns(ctx: RowContext) -> dict[str, Any]:
    """Ea along the GB and across the grain, the accelerant's and Li7P3S11's."""
    row: dict[str, Any] = {}
    for path in PATHS:
        for suffix, label in LABELS:
            col = f"Ea_{path}{suffix}"
            uuid, doc = ctx.job(roles.neb(path, label or ctx.accelerant))
            single = hops_sample(doc)
            row.update(single.columns(col))
            row[f"neb_reason_{path}{suffix}"] = (
                _reason(doc) if doc and single.value is None else None
            )
            row.update(
                percolation_sample(doc, single).columns(f"Ea_perc_{path}{suffix}")
            )
            row[f"hop_classes_{path}{suffix}"] = (
                f"{doc['hop_classes_computed']}/{doc['hop_classes']}"
                if doc and doc.get("hop_classes")
                else None
            )
            row[f"job_{col}"] = uuid
    return row


JOBS = {
    f"{p}_{path}{sfx}{stat}": (f"job_Ea_{path}{sfx}",)
    for p, stats in (
        ("Ea", ("", "_spread", "_samples")),
        ("neb_reason", ("",)),
        ("Ea_perc", ("", "_spread", "_samples")),
        ("hop_classes", ("",)),
    )
    for stat in stats
    for path in PATHS
    for sfx, _ in LABELS
}


def barriers(doc: dict) -> list[float]:
    """Ea of every converged band of a ``NebHopsDoc`` (see :func:`hop_barrier`)."""
    return [
        max(r["energies"]) - min(r["energies"][0], r["energies"][-1])
        for r in doc["runs"]
        if r["converged"]
    ]


def hops_sample(doc: dict | None) -> Sample:
    """The lowest single-hop Ea and the gap to the next hop's (one per class).

    Exact for the model (spread 0) once every hop class of the region is computed.
    """
    if not doc:
        return spread.NONE
    done = barriers(doc)
    sample = lowest(done, BARRIER_TOL)
    classes = doc.get("hop_classes")
    if sample.value is not None and classes and len(done) >= classes:
        return Sample(sample.value, 0.0, sample.n)
    return sample


def percolation_sample(doc: dict | None, single: Sample) -> Sample:
    """The percolation barrier and how far classes not computed could lower it.

    Computed over every hop class of the path's region, it is exact for the
    model: spread 0. Over some of them, a class not computed could open a route
    whose highest hop is lower, at best the lowest hop computed (the shortest
    class is among those computed): the spread is the barrier minus that hop.
    """
    if not doc or doc.get("percolation_barrier") is None:
        return spread.NONE
    value = doc["percolation_barrier"]
    computed = doc.get("hop_classes_computed") or single.n
    if doc.get("hop_classes") and computed >= doc["hop_classes"]:
        return Sample(value, 0.0, computed)
    floor = single.value if single.value is not None else value
    return Sample(value, max(value - floor, 0.0), computed)


def hop_barrier(doc: dict) -> tuple[int, float] | None:
    """(run index, Ea) of the lowest converged band of a ``NebHopsDoc``.

    Ea = E_max - min(E_initial, E_final): the barrier of the hop taken from its
    lower endpoint (the direction that limits the rate). For a symmetric hop it is
    the forward barrier; for an asymmetric one the forward barrier from the higher
    end would understate it (down to 0 for a downhill band). None if no band
    converged.
    """
    ea = iter(barriers(doc))
    done = [(k, next(ea)) for k, r in enumerate(doc["runs"]) if r["converged"]]
    return min(done, key=lambda t: t[1]) if done else None


def _reason(doc: dict) -> str:
    reasons = [r.get("reason") or "not converged" for r in doc["runs"]]
    return "; ".join(reasons) or "no hop computed"


def points(stores: Stores, manifest: dict) -> pd.DataFrame | None:
    """Energy profiles of the reported NEBs, one row per image.

    Columns: accelerant ("Li7P3S11" for the references), path ('gb'/'bulk'),
    image, coordinate (0..1, cumulative image distance), energy (eV relative to
    the initial image), barrier (eV).
    """
    rows = []
    for role, doc in outputs_of_step(stores, manifest, "neb"):
        best = hop_barrier(doc)
        if best is None:
            continue
        run = doc["runs"][best[0]]
        coords = _band_coordinate(run["images"])
        for k, (x, e) in enumerate(zip(coords, run["relative_energies"], strict=True)):
            rows.append(
                {
                    "accelerant": role.label,
                    "path": role.kind,
                    "image": k,
                    "coordinate": x,
                    "energy": e,
                    "barrier": best[1],
                }
            )
    return pd.DataFrame(rows) if rows else None


def _band_coordinate(images: list[dict]) -> list[float]:
    """Cumulative minimum-image distance between images, scaled to 0..1."""
    structs = [Structure.from_dict(i) if isinstance(i, dict) else i for i in images]
    steps = [0.0]
    for a, b in itertools.pairwise(structs):
        d = (b.frac_coords - a.frac_coords + 0.5) % 1.0 - 0.5
        steps.append(float(np.linalg.norm(a.lattice.get_cartesian_coords(d))))
    total = np.cumsum(steps)
    return (
        list(total / total[-1])
        if total[-1] > 0
        else list(np.linspace(0, 1, len(total)))
    )


def faster_along_gb(row: Mapping[str, Any], cfg: RankingConfig) -> Verdict:
    """Ea along the hetero GB below Ea across the core grain."""
    return _faster_along(row, "", "along GB {gb:.3f} vs across grain {bulk:.3f} eV")


def faster_along_li7p3s11_gb(row: Mapping[str, Any], cfg: RankingConfig) -> Verdict:
    """The study's GB model: Ea along the Li7P3S11 GB below Ea in its grain."""
    return _faster_along(
        row,
        "_Li7P3S11",
        "along the Li7P3S11 GB {gb:.3f} vs in the Li7P3S11 grain {bulk:.3f} eV (the "
        "study's comparison, shared by every accelerant)",
    )


def compares_paths(row: Mapping[str, Any], suffix: str = "") -> bool:
    """A migration criterion compares percolation barriers: both paths span."""
    return all(number(row, f"Ea_perc_{p}{suffix}") is not None for p in ("gb", "bulk"))


def compared(suffix: str) -> Callable[[Mapping[str, Any]], tuple[str, str]]:
    """Row -> the two columns a migration criterion compares on it."""

    def columns(row: Mapping[str, Any]) -> tuple[str, str]:
        stem = "Ea_perc" if compares_paths(row, suffix) else "Ea"
        return f"{stem}_gb{suffix}", f"{stem}_bulk{suffix}"

    return columns


def _faster_along(row: Mapping[str, Any], suffix: str, what: str) -> Verdict:
    """Percolation barriers when both paths span, else the lowest single hops."""
    perc = compares_paths(row, suffix)
    kind = "percolation" if perc else "lowest single-hop"
    classes = ", ".join(
        f"{p} {row.get(f'hop_classes_{p}{suffix}')}"
        for p in ("gb", "bulk")
        if row.get(f"hop_classes_{p}{suffix}")
    )
    note = (
        ""
        if perc
        else " (no spanning path through the computed hop classes on both sides"
        + (f": classes computed/in region {classes}" if classes else "")
        + "; neb.n_hops: spanning computes classes that span)"
    )

    def test(gb: float, bulk: float) -> tuple[float, bool, str]:
        ok = gb < bulk
        return (
            gb - bulk,
            ok,
            f"{kind} Ea " + what.format(gb=gb, bulk=bulk) + ": "
            + ("the GB is a fast path" if ok else "no faster along the GB") + note,
        )  # fmt: skip

    more = (
        "the path barriers' spreads reach down to their lowest hops while hop "
        "classes of a region are left, so this stays undecided until more "
        "classes (up to all of them) are computed"
        if perc
        else "a lowest hop's spread is the gap to the next class's barrier "
        "(unknown with one class); neb.n_hops: spanning computes more"
    )
    return pair(row, *compared(suffix)(row), test, more=more)
