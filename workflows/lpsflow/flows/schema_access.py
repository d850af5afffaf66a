"""jobflow's check of output-reference attributes, answered once per model and name.

``job.output.structure`` on a job with an output schema (atomate2's VASP task
documents) makes jobflow's ``validate_schema_access`` generate the model's whole
JSON schema to look the name up: ~40 ms for a VASP ``TaskDoc``, about 100 times
while the study campaign's VASP NEB jobs are wired (4 of its 8 s of flow
building). The answer depends on the model class and the name only, so
:func:`apply` caches it; unknown names still raise jobflow's ``AttributeError``.
"""

from __future__ import annotations

import functools
from typing import Any


def apply() -> None:
    """Cache ``jobflow.core.reference.validate_schema_access`` (once per process)."""
    from jobflow.core import reference

    check = reference.validate_schema_access
    if getattr(check, "_lpsflow_cached", False):
        return
    cached = functools.lru_cache(maxsize=4096)(check)

    @functools.wraps(check)
    def validate_schema_access(schema: Any, item: Any) -> Any:
        try:
            return cached(schema, item)
        except TypeError:  # an unhashable item: jobflow's own check
            return check(schema, item)

    validate_schema_access._lpsflow_cached = True  # type: ignore[attr-defined]
    reference.validate_schema_access = validate_schema_access
