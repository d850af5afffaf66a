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
    """Uuid -> 0.1.0 uuid of the jobs stored only under their 0.1.0 id."""
    pairs = {new: old for new, old in cflow.legacy.items() if new != old}
    if not pairs:
        return {}
    missing = set(pairs) - finished_uuids(stores, list(pairs))
    stored_old = finished_uuids(stores, [pairs[u] for u in missing])
    return {u: pairs[u] for u in missing if pairs[u] in stored_old}


def adopt_legacy(stores: Stores, cflow: CampaignFlow) -> int:
    """Copy results stored under 0.1.0 ids to today's ids; the number adopted."""
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
            copy["metadata"] = {
                **(doc.get("metadata") or {}),
                ADOPTED_FROM: doc["uuid"],
            }
            copies.append(copy)
    stores.jobs.docs_store.update(copies, key=["uuid", "index"])
    return len({c["uuid"] for c in copies})
