"""Content-addressed job identities: the basis of resume and of sharing work.

A job's uuid is derived from what it computes: the function, the maker's settings
(calculator, tolerances) and the inputs (structures, or the uuids of the upstream jobs
whose outputs it consumes). The same calculation therefore has the same uuid in every
run and every campaign, so a finished one is found in the store and never repeated, and
re-running a job overwrites its document instead of adding a duplicate.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from monty.json import jsanitize

if TYPE_CHECKING:
    from jobflow import Job

#: Bump to invalidate every stored identity (e.g. after a change in job semantics).
IDENTITY_VERSION = 1
_NAMESPACE = uuid.UUID("6c0d9a4e-4f57-4a43-9d5e-2f1d5b0c7a11")


def _strip_versions(obj: Any) -> Any:
    """Drop monty's ``@version`` keys: package patch releases must not change ids."""
    if isinstance(obj, dict):
        return {k: _strip_versions(v) for k, v in obj.items() if k != "@version"}
    if isinstance(obj, list):
        return [_strip_versions(v) for v in obj]
    return obj


def content_key(job: Job, salt: Any = None) -> str:
    """Canonical JSON text of everything that determines a job's result.

    ``salt`` adds what the job's arguments do not show, e.g. the version of the
    MLIP package behind a forcefield maker.
    """
    function = job.function
    maker = getattr(function, "__self__", None)
    payload = {
        "v": IDENTITY_VERSION,
        "function": f"{function.__module__}.{function.__qualname__}",
        "maker": maker.as_dict() if maker is not None else None,
        "args": job.function_args,
        "kwargs": job.function_kwargs,
        "salt": salt,
    }
    clean = _strip_versions(jsanitize(payload, strict=True, enum_values=True))
    return json.dumps(clean, sort_keys=True, separators=(",", ":"))


def stamp(job: Job, role: str | None = None, salt: Any = None) -> Job:
    """Give ``job`` its content-derived uuid (call before anything references it)."""
    job.set_uuid(str(uuid.uuid5(_NAMESPACE, content_key(job, salt))))
    if role is not None:
        job.metadata = {**(job.metadata or {}), "lpsflow_role": role}
    return job
