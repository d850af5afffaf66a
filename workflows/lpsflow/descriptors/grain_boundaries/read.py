"""Grain-boundary energies gamma_GB of the homo, core and hetero boundaries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lpsflow import roles

if TYPE_CHECKING:
    from lpsflow.descriptors.base import RowContext

#: GB kinds and their label (None: the row's accelerant).
KINDS = (("homo", "Li7P3S11"), ("core", None), ("hetero", None))
#: Column stem -> what of the GB it holds.
FIELDS = ("gamma", "sigma", "misorientation", "strain", "atoms", "excess_volume")


def columns(ctx: RowContext) -> dict[str, Any]:
    """gamma_GB of the accelerant's core and hetero GBs and of the homo GB."""
    row: dict[str, Any] = {}
    for kind, label in KINDS:
        uuid, doc = ctx.job(roles.gb_energy(kind, label or ctx.accelerant))
        row[f"gamma_GB_{kind}"] = doc["gamma"] if doc else None
        # one shift relaxed (the others are screening single points): no spread
        row[f"gamma_GB_{kind}_spread"] = None
        row[f"gamma_GB_{kind}_samples"] = (
            1 if doc and doc["gamma"] is not None else None
        )
        row[f"sigma_GB_{kind}"] = doc["sigma"] if doc else None
        row[f"misorientation_GB_{kind}"] = doc["misorientation_angle"] if doc else None
        row[f"strain_GB_{kind}"] = doc["von_mises_strain"] if doc else None
        row[f"atoms_GB_{kind}"] = doc["n_atoms_a"] + doc["n_atoms_b"] if doc else None
        row[f"excess_volume_GB_{kind}"] = doc.get("excess_volume") if doc else None
        row[f"job_gb_{kind}"] = uuid
    return row


JOBS = {
    f"{f}_GB_{kind}{s}": (f"job_gb_{kind}",)
    for kind, _ in KINDS
    for f in FIELDS
    for s in (("", "_spread", "_samples") if f == "gamma" else ("",))
}
