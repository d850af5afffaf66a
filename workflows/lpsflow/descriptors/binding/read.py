"""Binding of Li7P3S11 films: E_bind(n) hetero (on the core) and homo."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from lpsflow import roles
from lpsflow.descriptors import spread
from lpsflow.descriptors.base import UNDECIDED, Verdict, difference, number, pair
from lpsflow.descriptors.spread import Sample, lowest
from lpsflow.finished import outputs_of_step

if TYPE_CHECKING:
    from lpsflow.analysis.ranking import RankingConfig
    from lpsflow.descriptors.base import RowContext
    from lpsflow.store import Stores

KINDS = (("hetero", None), ("homo", "Li7P3S11"))  # label None: the row's accelerant
#: Relaxed interface energies (eV per cell) closer than this are one state.
INTERFACE_TOL = 1e-3


def columns(ctx: RowContext) -> dict[str, Any]:
    """E_bind columns of one accelerant (hetero on its core, homo shared)."""
    row: dict[str, Any] = {}
    e_bind: dict[str, Sample] = {}
    for kind, label in KINDS:
        uuid, doc = ctx.job(roles.binding(kind, label or ctx.accelerant))
        points = doc["points"] if doc else []
        e_bind[kind] = _sampled(doc)
        row.update(e_bind[kind].columns(f"E_bind_{kind}"))
        row[f"E_bind_{kind}_n"] = doc["n_summary"] if doc else None
        row[f"E_bind_{kind}_by_n"] = (
            {p["n_layers"]: p["e_bind"] for p in points} if doc else None
        )
        row[f"binding_starts_{kind}"] = (
            max(max(len(p.get("e_interface_starts") or []), 1) for p in points)
            if points
            else None
        )
        row[f"E_bind_{kind}_start_by_n"] = (  # 1: the lowest single point's cell
            {p["n_layers"]: p.get("interface_start", 0) + 1 for p in points}
            if doc
            else None
        )
        row[f"area_{kind}"] = doc["area"] if doc else None
        row[f"strain_{kind}"] = doc["von_mises_strain"] if doc else None
        row[f"binding_converged_{kind}"] = (
            all(p["converged"] for p in points) if doc else None
        )
        row[f"binding_references_{kind}"] = (
            points[0].get("references", "screened_cell") if points else None
        )
        row[f"job_binding_{kind}"] = uuid
    dE = spread.difference(e_bind["hetero"], e_bind["homo"])
    row.update(dE.columns("dE_bind"))
    row.update(_unstrained(ctx))
    return row


def _sampled(doc: dict | None) -> Sample:
    """E_bind of the summary n, and the gap to its next relaxed interface start.

    The starts are registries (rigid shifts) of the same interface cell, so the
    gap in their relaxed energies over the area is the gap in E_bind.
    """
    if not doc or doc["e_bind"] is None:
        return spread.NONE
    point = next(p for p in doc["points"] if p["n_layers"] == doc["n_summary"])
    return Sample(doc["e_bind"], *_gap(point, doc["area"])[1:])


def _gap(point: dict, area: float) -> Sample:
    """Gap (eV/A^2) between the lowest and next relaxed start of one n."""
    starts = lowest(point.get("e_interface_starts") or [], INTERFACE_TOL)
    gap = None if starts.spread is None else starts.spread / area
    return Sample(None, gap, max(starts.n, 1))


def _unstrained(ctx: RowContext) -> dict[str, Any]:
    """The hetero film's strain energy per area and E_bind against the free film.

    The hetero film reference is strained into the interface cell; the homo film
    of the same n (same plane, same termination, relaxed from the same kind of
    start) is the free film, in its own cell. With k = atoms(hetero film) /
    atoms(homo film), the strain energy is (E_film_hetero - k E_film_homo) / A,
    and E_bind against the unstrained film is E_bind + that: what nucleating
    coherently on the core costs.
    """
    from lpsflow.calculators.outputs import summarize

    _, het = ctx.job(roles.binding("hetero", ctx.accelerant))
    _, hom = ctx.job(roles.binding("homo", "Li7P3S11"))
    strain: dict[int, float] = {}
    free: dict[int, float] = {}
    if het and hom:
        homo_points = {q["n_layers"]: q for q in hom["points"] if q["converged"]}
        for p in het["points"]:
            q = homo_points.get(p["n_layers"])
            docs = [ctx.outputs.get(x["jobs"]["film"]) for x in (p, q)] if q else []
            if not p["converged"] or not docs or None in docs:
                continue
            if p.get("film_from") != q.get("film_from"):
                continue  # from different starts: not the strain alone
            films = [summarize(d).structure.composition for d in docs]
            k = films[0].num_atoms / films[1].num_atoms
            if abs(k - round(k)) > 1e-9 or films[0] != films[1] * round(k):
                continue  # not whole copies of the free film
            e = (p["e_film"] - round(k) * q["e_film"]) / het["area"]
            strain[p["n_layers"]] = e
            free[p["n_layers"]] = p["e_bind"] + e
    n = max(free, default=None)
    e_free = free.get(n) if n is not None else None
    homo = {q["n_layers"]: q["e_bind"] for q in hom["points"]} if hom else {}
    return {
        "film_strain_energy_by_n": strain or None,
        "E_bind_hetero_free_by_n": free or None,
        "E_bind_hetero_free": e_free,
        "film_strain_energy": strain.get(n) if n is not None else None,
        "dE_bind_free": difference(e_free, homo.get(n)),
    }


JOBS = {
    **{
        f"{col}_{kind}": (f"job_binding_{kind}",)
        for kind, _ in KINDS
        for col in (
            "E_bind",
            "area",
            "strain",
            "binding_converged",
            "binding_references",
            "binding_starts",
        )
    },
    **{
        f"E_bind_{kind}_{s}": (f"job_binding_{kind}",)
        for kind, _ in KINDS
        for s in ("n", "by_n", "start_by_n", "spread", "samples")
    },
    **{
        f"dE_bind{s}": ("job_binding_hetero", "job_binding_homo")
        for s in ("", "_spread", "_samples")
    },
    **{
        col: ("job_binding_hetero", "job_binding_homo")
        for col in (
            "film_strain_energy",
            "film_strain_energy_by_n",
            "E_bind_hetero_free",
            "E_bind_hetero_free_by_n",
            "dE_bind_free",
        )
    },
}


def points(stores: Stores, manifest: dict) -> pd.DataFrame | None:
    """E_bind(n) of every series: accelerant, kind, n_layers, E_bind (eV/A^2).

    With E_bind_spread (gap to the next relaxed registry; None with one) and
    E_bind_samples.
    """
    rows = [
        {
            "accelerant": doc["label"],
            "kind": doc["kind"],
            "n_layers": p["n_layers"],
            "E_bind": p["e_bind"],
            "E_bind_spread": gap.spread,
            "E_bind_samples": gap.n,
            "area": doc["area"],
            "strain": doc["von_mises_strain"],
        }
        for _, doc in outputs_of_step(stores, manifest, "binding")
        for p in doc["points"]
        if p["e_bind"] is not None
        for gap in (_gap(p, doc["area"]),)
    ]
    return pd.DataFrame(rows) if rows else None


def assumed(cfg: RankingConfig) -> dict[str, float]:
    """Spreads assumed for an E_bind from one interface start per n."""
    return {"E_bind_hetero": cfg.binding_noise, "E_bind_homo": cfg.binding_noise}


def stronger_on_core(row: Mapping[str, Any], cfg: RankingConfig) -> Verdict:
    """Li7P3S11 binds more strongly on the core: E_bind hetero < homo.

    Undecided where the difference lies inside the spread of the two E_bind (the
    gap to the next interface start of each; ``binding_noise`` for each where a
    series relaxed one start per n), or where the free-film E_bind has the other
    sign.
    """

    def test(het: float, hom: float) -> tuple[float, bool, str]:
        ok = het < hom
        return (
            het - hom,
            ok,
            f"E_bind hetero {het:+.4f} vs homo {hom:+.4f} eV/A^2: Li7P3S11 "
            + ("prefers to nucleate on the core" if ok else "prefers itself"),
        )

    verdict = pair(
        row,
        "E_bind_hetero",
        "E_bind_homo",
        test,
        assumed=assumed(cfg),
        more="interfaces.relax_top >= 2 relaxes more registries",
    )
    free = number(row, "dE_bind_free")
    if verdict[0] is not None and free is not None and (verdict[0] < 0) != (free < 0):
        return (
            verdict[0],
            verdict[1],
            UNDECIDED,
            verdict[3] + f"; against the free film dE_bind is {free:+.4f} eV/A^2, "
            "the other sign: the film's strain energy decides it",
        )
    return verdict
