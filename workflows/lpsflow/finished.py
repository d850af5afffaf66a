"""Outputs of a campaign's finished jobs, read from the store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lpsflow.roles import Role, roles_of

if TYPE_CHECKING:
    from lpsflow.store import Stores


def job_outputs(stores: Stores, uuids: list[str]) -> dict[str, dict]:
    """Uuid -> output of the finished jobs among ``uuids`` (their latest run)."""
    docs = stores.jobs.query(
        {"uuid": {"$in": uuids}}, properties=["uuid", "index", "output"]
    )
    best: dict[str, dict] = {}
    for d in docs:
        if d["uuid"] not in best or d["index"] > best[d["uuid"]]["index"]:
            best[d["uuid"]] = d
    return {u: d["output"] for u, d in best.items()}


def outputs_of_step(
    stores: Stores, manifest: dict[str, Any], step: str
) -> list[tuple[Role, dict]]:
    """(role, output) of the finished jobs of one step (e.g. ``binding``), by role."""
    wanted = {r: u for r, u in roles_of(manifest).items() if r.step == step}
    outputs = job_outputs(stores, list(wanted.values()))
    return [
        (r, outputs[u])
        for r, u in sorted(wanted.items(), key=lambda t: str(t[0]))
        if outputs.get(u) is not None
    ]
