"""Results stored under the job ids of lpsflow 0.1.0, adopted under today's ids.

lpsflow 0.1.0 derived a job's id from its function's module path
(:func:`lpsflow.jobs.identity.legacy_key`); today's ids come from declared kinds,
so the same calculation has another id. Before a run or a submission,
:func:`adopt_legacy` copies each finished job document stored under the old id to
the new one (the same output, blobs shared; ``metadata.lpsflow_adopted_from``
names the old id), so nothing a 0.1.0 store holds is computed again. The old
documents stay; adopting twice writes nothing new.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lpsflow.dispatch.sharing import finished_uuids

if TYPE_CHECKING:
    from lpsflow.flows.campaign import CampaignFlow
    from lpsflow.store import Stores

#: Metadata key naming the id a result was stored under before it was adopted.
ADOPTED_FROM = "lpsflow_adopted_from"


def legacy_to_adopt(stores: Stores, cflow: CampaignFlow) -> dict[str, str]:
    """Uuid -> 0.1.0 uuid of the jobs to adopt.

    A job is adopted when its result is stored under its 0.1.0 id only and every
    job it reads is adopted too (now or earlier): a parent computed afresh under
    today's id has its children computed afresh, never paired with results
    computed from another parent result.
    """
    pairs = {new: old for new, old in cflow.legacy.items() if new != old}
    if not pairs:
        return {}
    docs = stores.jobs.query({"uuid": {"$in": list(pairs)}}, ["uuid", "metadata"])
    stored = {d["uuid"]: (d.get("metadata") or {}).get(ADOPTED_FROM) for d in docs}
    old_ones = finished_uuids(stores, [pairs[u] for u in pairs if u not in stored])
    adopted = {u for u, source in stored.items() if source == pairs[u]}
    want: dict[str, str] = {}
    for job in cflow.jobs:  # in build order: parents first
        uuid = job.uuid
        if uuid in stored or uuid not in pairs or pairs[uuid] not in old_ones:
            continue
        if all(ref.uuid in adopted for ref in job.input_references):
            want[uuid] = pairs[uuid]
            adopted.add(uuid)
    return want


def adopt_legacy(stores: Stores, cflow: CampaignFlow) -> int:
    """Copy results stored under 0.1.0 ids to today's ids; the number adopted."""
    with stores.claims.exclusive(f"adopt:{cflow.name}"):  # one runner at a time
        want = legacy_to_adopt(stores, cflow)
        if not want:
            return 0
        news: dict[str, list[str]] = {}
        for new, old in want.items():
            news.setdefault(old, []).append(new)
        docs = stores.jobs.docs_store.query({"uuid": {"$in": list(news)}})
        copies = []
        for doc in docs:
            for new in news[doc["uuid"]]:
                copy = {k: v for k, v in doc.items() if k != "_id"}
                copy["uuid"] = new
                meta = {**(doc.get("metadata") or {}), ADOPTED_FROM: doc["uuid"]}
                copy["metadata"] = meta
                copies.append(copy)
        stores.jobs.docs_store.update(copies, key=["uuid", "index"])
    return len({c["uuid"] for c in copies})
