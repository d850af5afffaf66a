"""Surface energies of the listed Li7P3S11 planes, and the plane the film uses."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from lpsflow import roles

if TYPE_CHECKING:
    from lpsflow.descriptors.base import RowContext


def planes(ctx: RowContext) -> list[str]:
    """The plane labels (``010``) of the campaign's surface jobs, in build order."""
    return [r.kind for r in ctx.jobs if r.step == "surface"]


def film_plane(ctx: RowContext) -> str | None:
    """The film plane of the row's hetero interfaces (else the homo one), as text."""
    for kind, label in (("hetero", ctx.accelerant), ("homo", "Li7P3S11")):
        for role, uuid in ctx.jobs.items():
            if (role.step, role.branch, role.kind, role.label) == (
                "screen", "interface", kind, label
            ) and not role.part:  # fmt: skip
                doc = ctx.outputs.get(uuid)
                if doc and doc.get("film"):
                    return roles.miller_label(doc["film"]["miller"])
    return None


def columns(ctx: RowContext) -> dict[str, Any]:
    """Gamma of each plane (relaxed; J/m^2), the lowest plane and the film's."""
    row: dict[str, Any] = {}
    best: tuple[float, str] | None = None
    for hkl in planes(ctx):
        uuid, doc = ctx.job(roles.Role("surface", "Li7P3S11", "surface", hkl))
        gamma = doc["gamma"] if doc else None
        row[f"gamma_surface_{hkl}"] = gamma
        row[f"job_surface_{hkl}"] = uuid
        if gamma is not None and (best is None or gamma < best[0]):
            best = (gamma, hkl)
    if row:
        row["surface_lowest"] = best[1] if best else None
        row["surface_film"] = film_plane(ctx)
    return row


class SurfaceJobs(Mapping):
    """Column -> job-id columns of the per-plane ``gamma_surface_<hkl>`` columns.

    Whichever planes a campaign lists.
    """

    PREFIX = "gamma_surface_"

    def __contains__(self, column: object) -> bool:
        return isinstance(column, str) and column.startswith(self.PREFIX)

    def __getitem__(self, column: str) -> tuple[str, ...]:
        if column not in self:
            raise KeyError(column)
        return (f"job_surface_{column.removeprefix(self.PREFIX)}",)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


JOBS = SurfaceJobs()
