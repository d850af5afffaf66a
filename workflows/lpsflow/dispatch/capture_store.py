"""A maggma Store that only keeps what a job stores, for a worker process.

A worker runs jobflow's ``Job.run`` against a JobStore whose only purpose is to
catch the job's output document and blobs; the parent writes them into the
campaign's store. maggma's ``MemoryStore`` (mongomock) deep-copies every document
field on the way in and again on the way out: 0.2 s for the task document of a
264-atom relaxation. This store keeps the documents jobflow hands it (already
sanitised copies) as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from maggma.core import Sort, Store


class CaptureStore(Store):
    """Documents by key, in memory; ``query`` returns them all (no filtering)."""

    def __init__(self, name: str = "capture", key: str = "uuid") -> None:
        self._name = name
        self._docs: dict[tuple, dict] = {}
        super().__init__(key=key)

    @property
    def name(self) -> str:
        """Name of the store."""
        return self._name

    @property
    def _collection(self) -> dict[tuple, dict]:
        return self._docs

    def connect(self, force_reset: bool = False) -> None:
        """Nothing to connect to (``force_reset`` empties the store)."""
        if force_reset:
            self._docs.clear()

    def close(self) -> None:
        """Nothing to close."""

    def count(self, criteria: dict | None = None) -> int:
        """Number of documents (``criteria`` must be empty)."""
        self._only_all(criteria)
        return len(self._docs)

    def query(
        self,
        criteria: dict | None = None,
        properties: dict | list | None = None,
        sort: dict[str, Sort | int] | None = None,
        skip: int = 0,
        limit: int = 0,
    ) -> Iterator[dict]:
        """Every document, in the order stored (``criteria`` must be empty)."""
        self._only_all(criteria)
        docs = list(self._docs.values())[skip:]
        yield from docs[:limit] if limit else docs

    def update(self, docs: list[dict] | dict, key: list | str | None = None) -> None:
        """Insert or replace ``docs`` by ``key`` (default: the store's key)."""
        fields = key or self.key
        fields = [fields] if isinstance(fields, str) else list(fields)
        for doc in docs if isinstance(docs, list) else [docs]:
            self._docs[tuple(str(doc.get(f)) for f in fields)] = doc

    def ensure_index(self, key: str, unique: bool = False) -> bool:
        """No indexes needed."""
        return True

    def groupby(self, keys: Any, *args: Any, **kwargs: Any) -> Iterator:
        """Not supported: a worker's store is only written and read back whole."""
        raise NotImplementedError("CaptureStore does not group")

    def remove_docs(self, criteria: dict) -> None:
        """Remove every document (``criteria`` must be empty)."""
        self._only_all(criteria)
        self._docs.clear()

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    @staticmethod
    def _only_all(criteria: dict | None) -> None:
        if criteria:
            raise NotImplementedError("CaptureStore answers only empty criteria")
