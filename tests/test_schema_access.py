"""jobflow's output-reference attribute check, cached: the same answers and errors."""

from __future__ import annotations

import pytest
from jobflow import job
from jobflow.core import reference
from pydantic import BaseModel

import lpsflow.flows  # noqa: F401  (applies the cache)


class Inner(BaseModel):
    """A nested document."""

    energy: float = 0.0


class Doc(BaseModel):
    """A job's output schema."""

    name: str = ""
    inner: Inner = Inner()


@job(output_schema=Doc)
def make_doc() -> Doc:
    """A job whose output references are checked against ``Doc``."""
    return Doc()


def test_cached_schema_access_answers_as_jobflow(monkeypatch):
    assert getattr(reference.validate_schema_access, "_lpsflow_cached", False)
    calls = []
    original = reference.validate_schema_access.__wrapped__
    schema_calls = Doc.model_json_schema

    def counted(*a, **k):
        calls.append(1)
        return schema_calls(*a, **k)

    monkeypatch.setattr(Doc, "model_json_schema", counted)
    out = make_doc().output
    ref = out.inner
    assert ref.output_schema is Inner  # the nested model, as jobflow says
    assert ref.energy.attributes == (("a", "inner"), ("a", "energy"))
    n = len(calls)
    for _ in range(3):
        assert make_doc().output.inner.output_schema is Inner
    assert len(calls) == n  # answered from the cache
    assert reference.validate_schema_access(Doc, "name") == original(Doc, "name")
    for _ in range(2):  # an unknown name raises every time
        with pytest.raises(AttributeError, match="does not have attribute 'nme'"):
            _ = make_doc().output.nme
