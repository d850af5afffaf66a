"""Results stored under the job ids of earlier identities, adopted under today's.

A job's id is the hash of its content key (:mod:`lpsflow.jobs.identity`); when
the key's form changes, the same calculation gets another id: lpsflow 0.1.0
keyed jobs by module paths, identity version 2 hashed floats with the last bits
of the machine that built the campaign. Before a run or a submission,
:func:`adopt_legacy` copies each finished job document stored under an earlier
id to today's (the same output, blobs shared; ``metadata.lpsflow_adopted_from``
names the old id), so nothing such a store holds is computed again. The old
documents stay; adopting twice writes nothing new.

An earlier id hashed the floats the writing machine had. Where a structure's
floats differ from a stored result's in their last bits only (the store was
written on another CPU), its key is taken again with the stored floats
(:func:`lpsflow.jobs.identity.snapped`): adopted only when that key hashes to the
stored id, so only the same calculation is ever adopted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lpsflow.dispatch.sharing import finished_uuids
from lpsflow.jobs.identity import (
    LEGACY_VERSION,
    Snap,
    content_key,
    legacy_key,
    uuid_of,
)

if TYPE_CHECKING:
    from jobflow import Job

    from lpsflow.flows.campaign import CampaignFlow
    from lpsflow.store import Stores

#: Metadata key naming the id a result was stored under before it was adopted.
ADOPTED_FROM = "lpsflow_adopted_from"

#: (job, its uuid in that scheme by today's uuid, stored structure or None) -> key.
KeyOf = Callable[["Job", dict[str, str], "Snap | None"], str]


def _schemes(cflow: CampaignFlow) -> dict[str, KeyOf]:
    """The earlier identity schemes, newest first: name -> content key."""

    def v2(job: Job, ids: dict[str, str], snap: Snap | None) -> str:
        salt = None if job.uuid in cflow.analysis else cflow.salt
        return content_key(job, salt, version=2, ids=ids, snap=snap)

    def v010(job: Job, ids: dict[str, str], snap: Snap | None) -> str:
        analysis = job.uuid in cflow.analysis
        salt = {"lpsflow": LEGACY_VERSION} if analysis else cflow.salt
        name = cflow.maker_names.get(job.uuid)
        return legacy_key(job, salt, ids, snap=snap, maker_name=name)

    return {"identity 2": v2, f"lpsflow {LEGACY_VERSION}": v010}


def _ids(cflow: CampaignFlow, key_of: KeyOf, snaps: dict[str, list]) -> dict[str, str]:
    """Today's uuid -> the scheme's, in build order (a job's key reads its parents').

    ``snaps``: uuid -> (stored id, stored input structure) of results stored
    under the job's role: the first whose floats give its id is taken.
    """
    ids: dict[str, str] = {}
    for job in cflow.jobs:
        if job.uuid in ids:
            continue
        old = uuid_of(key_of(job, ids, None))
        tries = [
            (stored, Snap(structure, derive))
            for stored, structure in snaps.get(job.uuid, ())
            for derive in (True, False)
            if stored != old
        ]
        old = next((u for u, s in tries if uuid_of(key_of(job, ids, s)) == u), old)
        ids[job.uuid] = old
    return ids


def _input_structure(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The structure a stored calculation started from.

    In atomate2's task documents: ``input.mol_or_struct`` of a force-field task,
    ``input.structure`` of a VASP one.
    """
    given = (doc.get("output") or {}).get("input") or {}
    found = given.get("mol_or_struct") or given.get("structure")
    return found if isinstance(found, dict) else None


def earlier_ids(
    cflow: CampaignFlow, stores: Stores | None = None
) -> dict[str, dict[str, str]]:
    """Scheme -> (today's uuid -> the uuid that scheme gave the job).

    With ``stores``: a job whose id is not found, but whose role has a finished
    result stored under another id, gets that id where its key with the stored
    structure's floats hashes to it (written on another machine).
    """
    out = {}
    by_uuid: dict[str, list[str]] = {}
    for role, uuid in cflow.roles.items():
        by_uuid.setdefault(uuid, []).append(role)
    today = {job.uuid for job in cflow.jobs}
    for name, key_of in _schemes(cflow).items():
        ids = _ids(cflow, key_of, {})
        if stores is not None:
            found = finished_uuids(stores, list(ids.values()))
            missing = {
                u: by_uuid.get(u, []) for u, old in ids.items() if old not in found
            }
            snaps = _stored_by_role(stores, missing, today)
            if snaps:
                ids = _ids(cflow, key_of, snaps)
        out[name] = ids
    return out


def _stored_by_role(
    stores: Stores, missing: dict[str, list[str]], today: set[str]
) -> dict[str, list]:
    """Uuid -> (stored id, input structure) of results stored under its roles.

    Finished results, not stored under any of today's ids.
    """
    roles = sorted({r for rs in missing.values() for r in rs})
    if not roles:
        return {}
    docs = stores.jobs.query(
        {"metadata.lpsflow_role": {"$in": roles}},
        ["uuid", "metadata", "output.input"],
    )
    by_role: dict[str, list] = {}
    for doc in docs:
        structure = _input_structure(doc)
        if doc["uuid"] not in today and structure is not None:
            role = (doc.get("metadata") or {}).get("lpsflow_role")
            by_role.setdefault(role, []).append((doc["uuid"], structure))
    if not by_role:
        return {}
    done = finished_uuids(stores, [u for v in by_role.values() for u, _ in v])
    return {
        uuid: [(u, s) for r in rs for u, s in by_role.get(r, []) if u in done]
        for uuid, rs in missing.items()
        if any(u in done for r in rs for u, _ in by_role.get(r, []))
    }


def legacy_to_adopt(stores: Stores, cflow: CampaignFlow) -> dict[str, str]:
    """Uuid -> the earlier uuid of the jobs to adopt.

    A job is adopted when its result is stored under an earlier id only and every
    job it reads holds the very result its earlier key read (adopted from that
    job's earlier id, now or before): a parent computed afresh under today's id
    has its children computed afresh, never paired with results computed from
    another parent result.
    """
    today = [job.uuid for job in cflow.jobs]
    docs = stores.jobs.query({"uuid": {"$in": today}}, ["uuid", "metadata"])
    source = {d["uuid"]: (d.get("metadata") or {}).get(ADOPTED_FROM) for d in docs}
    if len(source) == len(set(today)):
        return {}
    schemes = earlier_ids(cflow, stores).values()
    olds = finished_uuids(
        stores,
        list({ids[u] for ids in schemes for u in today if u not in source} - {*today}),
    )
    want: dict[str, str] = {}
    for job in cflow.jobs:  # in build order: parents first
        uuid = job.uuid
        if uuid in source:
            continue
        for ids in schemes:
            old = ids[uuid]
            refs = job.input_references
            if old in olds and all(source.get(r.uuid) == ids[r.uuid] for r in refs):
                want[uuid] = source[uuid] = old
                break
    return want


def adopt_legacy(stores: Stores, cflow: CampaignFlow) -> int:
    """Copy results stored under earlier ids to today's ids; the number adopted."""
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
