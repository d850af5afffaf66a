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
    """Accelerant -> the decisions of its finished rounds, in order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for role, uuid in jobs.items():
        if role.step != "round" or role.index != 1:
            continue
        chain: list[dict[str, Any]] = []
        while uuid:
            found = job_outputs(stores, [uuid]).get(uuid)
            if not found:
                break
            chain.append(found)
            uuid = found.get("next_round")
        if chain:
            out[role.label] = chain
    return out


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
        for decision in chain:  # the rounds themselves (round 1 is in ``jobs``)
            if decision.get("next_round"):
                own[Role("round", label, index=decision["round"] + 1)] = decision[
                    "next_round"
                ]
        out[label] = own
    return out


def round_roles(stores: Stores, jobs: dict[Role, str]) -> dict[str, str]:
    """Uuid -> role of every job the rounds added (finished or not)."""
    out: dict[str, str] = {}
    for chain in rounds(stores, jobs).values():
        for decision in chain:
            for role, uuid in decision.get("added_roles", {}).items():
                out.setdefault(uuid, role)
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
        f"{last.get('added', 0)} jobs added; {last.get('spent', 0)} force calls spent)"
    )
