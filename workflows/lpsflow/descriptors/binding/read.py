"""Binding of Li7P3S11 films: E_bind(n) hetero (on the core) and homo."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from lpsflow import roles
from lpsflow.descriptors.base import Verdict, difference, number, pair
from lpsflow.finished import outputs_of_step

if TYPE_CHECKING:
    from lpsflow.analysis.ranking import RankingConfig
    from lpsflow.descriptors.base import RowContext
    from lpsflow.store import Stores

KINDS = (("hetero", None), ("homo", "Li7P3S11"))  # label None: the row's accelerant


def columns(ctx: RowContext) -> dict[str, Any]:
    """E_bind columns of one accelerant (hetero on its core, homo shared)."""
    row: dict[str, Any] = {}
    for kind, label in KINDS:
        uuid, doc = ctx.job(roles.binding(kind, label or ctx.accelerant))
        points = doc["points"] if doc else []
        row[f"E_bind_{kind}"] = doc["e_bind"] if doc else None
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
    row["dE_bind"] = difference(row["E_bind_hetero"], row["E_bind_homo"])
    return row


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
        for s in ("n", "by_n", "start_by_n")
    },
    "dE_bind": ("job_binding_hetero", "job_binding_homo"),
}


def points(stores: Stores, manifest: dict) -> pd.DataFrame | None:
    """E_bind(n) of every series: accelerant, kind, n_layers, E_bind (eV/A^2)."""
    rows = [
        {
            "accelerant": doc["label"],
            "kind": doc["kind"],
            "n_layers": p["n_layers"],
            "E_bind": p["e_bind"],
            "area": doc["area"],
            "strain": doc["von_mises_strain"],
        }
        for _, doc in outputs_of_step(stores, manifest, "binding")
        for p in doc["points"]
        if p["e_bind"] is not None
    ]
    return pd.DataFrame(rows) if rows else None


def stronger_on_core(row: Mapping[str, Any], cfg: RankingConfig) -> Verdict:
    """Li7P3S11 binds more strongly on the core: E_bind hetero < homo."""
    starts = number(row, "binding_starts_hetero")

    def test(het: float, hom: float) -> tuple[float, bool, str]:
        ok = het < hom
        noisy = abs(het - hom) < cfg.binding_noise and (starts or 1) <= 1
        return (
            het - hom,
            ok,
            f"E_bind hetero {het:+.4f} vs homo {hom:+.4f} eV/A^2: Li7P3S11 "
            + ("prefers to nucleate on the core" if ok else "prefers itself")
            + (
                f"; within {cfg.binding_noise:g} of each other from one interface "
                "start per n: not resolved (interfaces.relax_top >= 2)"
                if noisy
                else ""
            ),
        )

    return pair(row, "E_bind_hetero", "E_bind_homo", test)
