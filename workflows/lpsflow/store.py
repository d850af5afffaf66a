"""Where results live: an embedded on-disk store or MongoDB.

Two things are stored:

* ``jobs``: a jobflow :class:`~jobflow.JobStore` (job outputs; large objects such as
  trajectories go to its ``data`` additional store);
* ``campaigns``: one manifest per campaign (its definition, hash and the job uuid of
  every role: which relaxation is Li7P3S11, which job holds Al2S3's reaction energy...);
* ``claims``: which runner computes which job now (:mod:`lpsflow.dispatch.claims`), so
  runners that share the store never compute a job twice.

The embedded store is maggma's ``MontyStore`` on sqlite, which needs no server and
persists across processes. MongoDB is the production store shared by cluster workers.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bson
import yaml
from bson.codec_options import DEFAULT_CODEC_OPTIONS
from bson.raw_bson import RawBSONDocument
from jobflow import JobStore
from maggma.stores import MontyStore
from monty.json import jsanitize

from lpsflow.errors import StoreError

if TYPE_CHECKING:
    from maggma.core import Store

    from lpsflow.campaign import StoreSettings
    from lpsflow.dispatch.claims import Claims

#: Environment variable that supplies the MongoDB URI (keeps credentials out of files).
MONGODB_URI_ENV = "LPSFLOW_MONGODB_URI"


#: Job-document keys lpsflow queries by besides uuid: a calculation's id with its
#: inputs resolved (:mod:`lpsflow.dispatch.same`) and a job's role.
INDEXED = ("metadata.lpsflow_resolved", "metadata.lpsflow_role")


@dataclass
class Stores:
    """The job store and the campaign manifests of one database."""

    jobs: JobStore
    campaigns: Store
    location: str
    _claims: Claims | None = field(default=None, repr=False)

    @property
    def claims(self) -> Claims:
        """The claims of runners computing this store's jobs."""
        if self._claims is None:
            from lpsflow.dispatch.claim_backends import claims_for

            self._claims = claims_for(self.jobs.docs_store)
        return self._claims

    def connect(self) -> Stores:
        """Connect both stores (idempotent)."""
        try:
            self.jobs.connect()
            self.campaigns.connect()
            _ping(self.jobs.docs_store)
            for key in INDEXED:  # looked up before calculations run
                with contextlib.suppress(Exception):  # a store without indexes
                    self.jobs.docs_store.ensure_index(key)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(
                f"cannot open the store at {self.location}: {exc}"
            ) from exc
        return self

    def close(self) -> None:
        """Close both stores."""
        for store in (self.jobs, self.campaigns):
            with contextlib.suppress(Exception):  # closing a broken connection
                store.close()

    def __enter__(self) -> Stores:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ping(store: Store) -> None:
    """Fail now, not at the first query, if a MongoDB server is unreachable."""
    from pymongo.collection import Collection

    coll = getattr(store, "_coll", None)
    if isinstance(coll, Collection):
        coll.database.client.admin.command("ping")


def _copied(doc: dict) -> dict:
    """A deep copy of a stored document, which callers may change (jobflow does).

    Stored documents hold only JSON types and ObjectIds; a pickle round trip copies
    them twice as fast as ``copy.deepcopy`` (0.5 vs 1.1 s for a campaign's 153 task
    documents).
    """
    return pickle.loads(pickle.dumps(doc, protocol=pickle.HIGHEST_PROTOCOL))


class IndexedMontyStore(MontyStore):
    """maggma's MontyStore, with lookups by one field answered from memory.

    montydb keeps no indexes: every query reads and decodes every document of the
    collection (~2.5 ms per task document), so in a 150-job campaign each job input
    resolved and each output written cost ~0.4 s, more as the store grows, and the
    post-processing jobs spent 5-9 s each in queries. This store reads the
    collection once per connection into a dict keyed by ``lookup_field`` and answers
    equality and ``$in`` queries on that field (plus equality on other top-level
    fields, projection, sort, skip, limit) from it; new documents are inserted
    without a scan. Anything else goes to montydb. A value missing from the dict is
    looked up in the database, so documents another process wrote since are found.

    Parameters
    ----------
    lookup_field
        The field queries select on (``uuid`` for job outputs, ``blob_uuid`` for
        jobflow's additional stores).

    """

    def __init__(self, *args: Any, lookup_field: str = "uuid", **kwargs: Any) -> None:
        self.lookup_field = lookup_field
        self._by_value: dict[Any, list[Mapping]] | None = None
        super().__init__(*args, **kwargs)

    def connect(self, force_reset: bool = False) -> None:
        """Connect; the in-memory lookup is rebuilt at first use."""
        if force_reset or self._coll is None:
            self._by_value = None
        super().connect(force_reset=force_reset)

    def _lookup(self) -> dict[Any, list[Mapping]]:
        if self._by_value is None:
            by_value: dict[Any, list[Mapping]] = {}
            for doc in self._all_docs():
                by_value.setdefault(doc.get(self.lookup_field), []).append(doc)
            self._by_value = by_value
        return self._by_value

    def _all_docs(self, values: list | None = None) -> Iterator[Mapping]:
        """The collection's documents (those whose lookup field is in ``values``).

        Read as stored where montydb keeps BSON in sqlite (its default with pymongo
        installed): each a lazy ``RawBSONDocument`` whose top-level fields decode
        on access and whose sub-documents decode only when a query returns them.
        Decoding every document in full took 7.5 s for a study-size store (54 MB of
        2000-atom structures) before ``lpsflow status`` could count its jobs.
        """
        rows = None
        if self._collection.codec_options == DEFAULT_CODEC_OPTIONS:  # as _plain's
            rows = _raw_rows(self)
        if rows is None:
            query = {} if values is None else {self.lookup_field: {"$in": values}}
            yield from self._collection.find(query)
            return
        wanted = None if values is None else set(values)
        for raw in rows:
            doc = RawBSONDocument(raw, _RAW_OPTIONS)
            if wanted is None or doc.get(self.lookup_field) in wanted:
                yield doc

    def _matching(self, criteria: dict | None) -> list[dict] | None:
        """Documents matching ``criteria`` from memory; None if it cannot say."""
        field = self.lookup_field
        if not criteria or field not in criteria:
            return None
        others = {k: v for k, v in criteria.items() if k != field}
        if any(
            k.startswith("$") or "." in k or isinstance(v, dict)
            for k, v in others.items()
        ):
            return None
        wanted = criteria[field]
        if isinstance(wanted, dict):
            if set(wanted) != {"$in"}:
                return None
            values = list(dict.fromkeys(wanted["$in"]))
        else:
            values = [wanted]
        lookup = self._lookup()
        missing = [v for v in values if v not in lookup]
        if missing:  # written by another process since this one read the store?
            for doc in self._all_docs(missing):
                lookup.setdefault(doc.get(field), []).append(doc)
        return [
            doc
            for v in values
            for doc in lookup.get(v, [])
            if all(_plain(doc.get(k)) == val for k, val in others.items())
        ]

    def query(  # type: ignore[override]
        self,
        criteria: dict | None = None,
        properties: dict | list | None = None,
        sort: dict | None = None,
        hint: dict | None = None,
        skip: int = 0,
        limit: int = 0,
        **kwargs: Any,
    ) -> Iterator[dict]:
        """As MontyStore.query; lookups by ``lookup_field`` from memory."""
        docs = None if hint or kwargs else self._matching(criteria)
        if docs is None:
            yield from super().query(criteria, properties, sort, hint, skip, limit)
            return
        for key, order in reversed(list((sort or {}).items())):
            descending = int(getattr(order, "value", order)) < 0
            docs = sorted(docs, key=lambda d, k=key: d.get(k), reverse=descending)
        docs = docs[skip:]
        if limit:
            docs = docs[:limit]
        for doc in docs:  # a fresh document each time: callers may change it
            out = _project(doc, properties)
            yield out if isinstance(doc, RawBSONDocument) else _copied(out)

    def update(self, docs: list[dict] | dict, key: list | str | None = None) -> None:
        """As MontyStore.update; documents new to the store are inserted."""
        docs = docs if isinstance(docs, list) else [docs]
        keys = key or self.key
        keys = keys if isinstance(keys, list) else [keys]
        lookup = self._lookup()
        for doc in docs:
            doc = jsanitize(doc, allow_bson=True)
            value = doc.get(self.lookup_field)
            if value is None:  # not reachable by lookups: montydb as it is
                super().update(doc, key=keys)
                self._by_value = None
                continue
            entries = lookup.setdefault(value, [])
            same = [d for d in entries if all(d.get(k) == doc.get(k) for k in keys)]
            if same:
                super().update(doc, key=keys)  # replace_one keeps the _id
                doc["_id"] = same[0]["_id"]
                entries.remove(same[0])
            else:
                self._collection.insert_one(doc)  # sets doc["_id"]
            entries.append(_compact(doc))

    def remove_docs(self, criteria: dict) -> None:
        """As MontyStore.remove_docs; the lookup is rebuilt."""
        super().remove_docs(criteria)
        self._by_value = None


def _project(doc: Mapping, properties: dict | list | None) -> dict:
    """The fields of ``doc`` a MongoDB projection of ``properties`` keeps."""
    if not properties:
        return doc if isinstance(doc, dict) else _plain(doc)
    fields = (
        properties
        if isinstance(properties, list)
        else [k for k, v in properties.items() if v]
    )
    out: dict = {"_id": doc["_id"]} if "_id" in doc else {}
    for path in fields:
        src, dst = doc, out
        parts = path.split(".")
        for i, part in enumerate(parts):
            if not isinstance(src, Mapping) or part not in src:
                break
            if i == len(parts) - 1:
                dst[part] = _plain(src[part])
            else:
                src = src[part]
                dst = dst.setdefault(part, {})
    return out


#: Decoding options of the lazy documents the lookups keep.
_RAW_OPTIONS = DEFAULT_CODEC_OPTIONS.with_options(document_class=RawBSONDocument)


def _compact(doc: dict) -> Mapping:
    """A document just written, as the lookups keep it: BSON, decoded on demand.

    A long run's parent would otherwise hold every document it wrote (structures of
    thousands of atoms) as Python objects.
    """
    try:
        return RawBSONDocument(bson.encode(doc), _RAW_OPTIONS)
    except Exception:  # a value BSON cannot hold: keep the document as it is
        return doc


def _plain(value: Any) -> Any:
    """``value`` with every lazy BSON document in it decoded to dicts and lists."""
    if isinstance(value, RawBSONDocument):
        return bson.decode(value.raw, DEFAULT_CODEC_OPTIONS)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _raw_rows(store: MontyStore) -> list[bytes] | None:
    """A MontyStore's documents as montydb stored them (BSON), or None.

    None unless the store is montydb's sqlite storage with BSON encoding (its
    ``monty.storage.cfg`` says ``use_bson = yes``): the other storages and its JSON
    encoding are read through montydb instead.
    """
    root = Path(store.database_path)
    try:
        cfg = (root / "monty.storage.cfg").read_text()
    except OSError:
        return None
    if store.storage != "sqlite" or not re.search(r"use_bson\s*=\s*(yes|true)", cfg):
        return None
    path = root / store.database_name / f"{store.collection_name}.collection"
    if not path.is_file():
        return []
    try:
        with contextlib.closing(
            sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        ) as con:
            return [row[0] for row in con.execute("SELECT v FROM documents")]
    except sqlite3.Error:  # not the layout this reads: montydb decodes instead
        return None


def embedded_stores(path: str | Path, create: bool = True) -> Stores:
    """On-disk MontyDB (sqlite) stores under ``path``.

    With ``create`` false a store that does not exist is a :class:`StoreError`
    (reading never creates one).
    """
    path = Path(path).expanduser().resolve()
    if not create and not (path / "monty.storage.cfg").is_file():
        raise StoreError(
            f"no results store at {path}"
            + ("" if path.exists() else " (no such folder)")
            + ": nothing was computed into it yet (lpsflow run CAMPAIGN.yaml)"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the store directory {path}: {exc}") from exc

    def monty(name: str, **kwargs: Any) -> MontyStore:
        cls = IndexedMontyStore if kwargs else MontyStore
        return cls(
            collection_name=name,
            database_path=str(path),
            database_name="lpsflow",
            storage="sqlite",
            **kwargs,
        )

    jobs = JobStore(
        monty("jobs", lookup_field="uuid"),
        additional_stores={"data": monty("data", lookup_field="blob_uuid")},
    )
    return Stores(jobs=jobs, campaigns=monty("campaigns"), location=str(path))


def mongodb_stores(uri: str, database: str, timeout_s: float = 5.0) -> Stores:
    """MongoDB stores: ``jobs`` (+ GridFS ``data``) and ``campaigns`` collections."""
    from maggma.stores import GridFSStore, MongoStore

    kwargs: dict[str, Any] = {
        "database": database,
        "mongoclient_kwargs": {"serverSelectionTimeoutMS": int(timeout_s * 1000)},
    }
    jobs = JobStore(
        MongoStore.from_uri(uri, "jobs", **kwargs),
        additional_stores={"data": GridFSStore.from_uri(uri, "data", **kwargs)},
    )
    campaigns = MongoStore.from_uri(uri, "campaigns", **kwargs)
    return Stores(jobs=jobs, campaigns=campaigns, location=redact(uri))


def redact(uri: str) -> str:
    """Hide the password of a MongoDB URI for messages."""
    if "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return uri


def jobflow_yaml_stores(path: str | Path) -> Stores:
    """Stores from a jobflow.yaml ``JOB_STORE`` spec (read with a safe loader)."""
    from maggma.stores import MongoStore

    path = Path(path).expanduser()
    try:
        spec = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise StoreError(f"cannot read jobflow configuration {path}: {exc}") from exc
    if not isinstance(spec, dict) or "JOB_STORE" not in spec:
        raise StoreError(f"{path} has no JOB_STORE section")
    try:
        jobs = JobStore.from_dict_spec(spec["JOB_STORE"])
    except Exception as exc:
        raise StoreError(f"{path}: invalid JOB_STORE: {exc}") from exc
    docs = jobs.docs_store
    uri = getattr(docs, "uri", None)
    if uri is None:
        raise StoreError(f"{path}: lpsflow needs a MongoDB docs_store given by a uri")
    campaigns = MongoStore.from_uri(
        uri,
        "campaigns",
        database=getattr(docs, "database", None),
        mongoclient_kwargs=getattr(docs, "mongoclient_kwargs", {}),
    )
    return Stores(jobs=jobs, campaigns=campaigns, location=redact(uri))


def open_stores(
    settings: StoreSettings, base_dir: Path | str = ".", create: bool = True
) -> Stores:
    """Build and connect the stores a campaign names.

    ``create`` false: an embedded store that does not exist yet is a
    :class:`StoreError` and nothing is written (commands that only read).
    """
    if settings.type == "embedded":
        path = Path(settings.path).expanduser()
        if not path.is_absolute():
            path = Path(base_dir) / path
        stores = embedded_stores(path, create=create)
    elif settings.jobflow_yaml:
        stores = jobflow_yaml_stores(Path(base_dir) / settings.jobflow_yaml)
    else:
        uri = settings.uri or os.environ.get(MONGODB_URI_ENV)
        if not uri:
            raise StoreError(
                f"store type 'mongodb' needs a URI: set store.uri or ${MONGODB_URI_ENV}"
            )
        stores = mongodb_stores(uri, settings.database, settings.timeout_s)
    try:
        return stores.connect()
    except StoreError as exc:
        raise StoreError(
            f"cannot reach the {settings.type} store at {stores.location}: "
            f"{_first_line(exc)}"
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc.__cause__ or exc).split(" (configured timeouts")[0]
    return text.splitlines()[0][:200] if text else type(exc).__name__
