"""A calculation is computed once, however its inputs were reached.

A job's id hashes its inputs as written: references to upstream outputs. Two
calculations whose references differ can compute the same thing: the lowest Li
site of a screening asked for two sites and of one asked for three is the same
structure, relaxed with the same settings. Before a calculation job (one keyed
with the calculator's salt: relaxations, single points, screenings, NEBs) runs,
its key with the references resolved (:func:`resolved_id`) is looked up among
the stored calculations (``metadata.lpsflow_resolved``); when found, the
stored documents are copied under this job's id (``metadata.lpsflow_same_as``
names the source) instead of computing it. Every calculation records its resolved
key when it finishes. Analysis jobs are cheap and their outputs name the jobs they
read, so they always run.

Written by hand: jobflow and FireWorks key jobs by uuid only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lpsflow.jobs.identity import SALT_KEY, content_key, uuid_of

if TYPE_CHECKING:
    from jobflow import Job, JobStore

#: Metadata key of a calculation's id with its references resolved.
RESOLVED = "lpsflow_resolved"
#: Metadata key naming the job whose stored calculation a job's documents copy.
SAME_AS = "lpsflow_same_as"


def resolved_id(job: Job, store: JobStore) -> str | None:
    """The id of ``job``'s calculation with its inputs resolved from ``store``.

    None for analysis jobs (those a campaign keys without the calculator's salt)
    and where an input is not stored (the run then fails the job as it would have).
    """
    meta = job.metadata or {}
    if SALT_KEY not in meta:  # an analysis job (keyed without the salt)
        return None
    try:
        resolved = job.resolve_args(store, inplace=False)
    except Exception:
        return None
    return uuid_of(content_key(resolved, meta[SALT_KEY]))


def reuse(store: JobStore, job: Job, rid: str | None) -> str | None:
    """Copy a stored calculation whose resolved id is ``rid`` under ``job``'s id.

    Returns the uuid copied from (None: none stored). The copy carries no run cost
    (it cost nothing) and names its source.
    """
    from lpsflow.status import RUN_STATS_KEY

    if rid is None:
        return None
    found = store.docs_store.query_one(
        {f"metadata.{RESOLVED}": rid, "uuid": {"$ne": job.uuid}}, ["uuid", "metadata"]
    )
    if found is None:
        return None
    # a copy names the job that computed it: copy from that one
    source = (found.get("metadata") or {}).get(SAME_AS) or found["uuid"]
    copies = []
    for doc in store.docs_store.query({"uuid": source}):
        copy = {k: v for k, v in doc.items() if k not in ("_id", RUN_STATS_KEY)}
        copy["uuid"] = job.uuid
        copy["name"] = job.name
        copy["metadata"] = {**(job.metadata or {}), RESOLVED: rid, SAME_AS: source}
        copies.append(copy)
    store.docs_store.update(copies, key=["uuid", "index"])
    return source


def record(store: JobStore, uuid: str, rid: str | None) -> None:
    """Record the resolved id in the stored documents of a finished calculation."""
    if rid is None:
        return
    docs = list(store.docs_store.query({"uuid": uuid}))
    for doc in docs:
        doc.pop("_id", None)
        doc["metadata"] = {**(doc.get("metadata") or {}), RESOLVED: rid}
    if docs:
        store.docs_store.update(docs, key=["uuid", "index"])


def describe(source: str, store: JobStore) -> str:
    """``the same calculation as <name> (<uuid8>)`` for a progress line."""
    doc: dict[str, Any] | None = store.docs_store.query_one({"uuid": source}, ["name"])
    name = (doc or {}).get("name") or "a stored job"
    return f"the same calculation as {name} ({source[:8]}): copied"
