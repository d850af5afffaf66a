"""Reading adaptive sampling back: each accelerant's rounds and their last jobs.

A campaign's manifest names each accelerant's first round (``round:<acc>:1``);
each finished round's decision names the next round's job. Results read an
accelerant's rows from the jobs of its last finished round (its ``roles``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lpsflow.finished import job_outputs
from lpsflow.roles import Role, RoleError

if TYPE_CHECKING:
    from lpsflow.store import Stores


def rounds(stores: Stores, jobs: dict[Role, str]) -> dict[str, list[dict[str, Any]]]:
    """Accelerant -> the decisions of its finished rounds, in order.

    Each decision as stored, with ``job``: its job's uuid. Round k+1 is the
    finished round job of the accelerant whose campaign is round k's
    ``next_definition``.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for role, uuid in jobs.items():
        if role.step != "round" or role.index != 1:
            continue
        found = job_outputs(stores, [uuid]).get(uuid)
        if not found:
            continue
        chain = [{**found, "job": uuid}]
        while chain[-1].get("next_definition"):
            nxt = _next_decision(stores, role.label, chain[-1])
            if nxt is None:
                break
            chain.append(nxt)
        out[role.label] = chain
    return out


def _next_decision(
    stores: Stores, label: str, decision: dict[str, Any]
) -> dict[str, Any] | None:
    role = str(Role("round", label, index=decision["round"] + 1))
    docs = stores.jobs.query({"metadata.lpsflow_role": role}, ["uuid"])
    found = job_outputs(stores, [d["uuid"] for d in docs])
    for uuid, output in found.items():
        if output.get("definition") == decision["next_definition"]:
            return {**output, "job": uuid}
    return None


def sampled_jobs(stores: Stores, jobs: dict[Role, str]) -> dict[str, dict[Role, str]]:
    """Accelerant -> role -> uuid of the jobs its last finished round read.

    Only accelerants with a finished round after the first (the first reads the
    campaign's own jobs).
    """
    out = {}
    for label, chain in rounds(stores, jobs).items():
        if len(chain) < 2:
            continue
        own = dict(jobs)
        for text, uuid in chain[-1].get("roles", {}).items():
            try:
                own[Role.parse(text)] = uuid
            except RoleError:
                continue
        for decision in chain:  # the rounds themselves
            own[Role("round", label, index=decision["round"])] = decision["job"]
        out[label] = own
    return out


def round_roles(stores: Stores, jobs: dict[Role, str]) -> dict[str, str]:
    """Uuid -> role of the jobs the finished rounds read, and of the rounds."""
    out: dict[str, str] = {}
    for label, chain in rounds(stores, jobs).items():
        for decision in chain:
            for role, uuid in decision.get("roles", {}).items():
                out.setdefault(uuid, role)
            out[decision["job"]] = str(Role("round", label, index=decision["round"]))
    return out


def state(chain: list[dict[str, Any]]) -> str:
    """Where an accelerant's rounds are: stopped (why) or which one runs."""
    last = chain[-1]
    if last.get("stop"):
        return f"{len(chain)} rounds; stopped: {last['stop']}"
    raised = ", ".join(
        f"{k.replace(':', '.')} {v}" for k, v in (last.get("raised") or {}).items()
    )
    return (
        f"round {last.get('round', 0) + 1} under way ({raised}; "
        f"{last.get('spent', 0)} force calls spent)"
    )
