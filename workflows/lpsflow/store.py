"""Where results live: an embedded on-disk store or MongoDB.

Two things are stored:

* ``jobs``: a jobflow :class:`~jobflow.JobStore` (job outputs; large objects such as
  trajectories go to its ``data`` additional store);
* ``campaigns``: one manifest per campaign (its definition, hash and the job uuid of
  every role: which relaxation is Li7P3S11, which job holds Al2S3's reaction energy...).

The embedded store is maggma's ``MontyStore`` on sqlite, which needs no server and
persists across processes. MongoDB is the production store shared by cluster workers.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from jobflow import JobStore

from lpsflow.errors import StoreError

if TYPE_CHECKING:
    from maggma.core import Store

    from lpsflow.campaign import StoreSettings

#: Environment variable that supplies the MongoDB URI (keeps credentials out of files).
MONGODB_URI_ENV = "LPSFLOW_MONGODB_URI"


@dataclass
class Stores:
    """The job store and the campaign manifests of one database."""

    jobs: JobStore
    campaigns: Store
    location: str

    def connect(self) -> Stores:
        """Connect both stores (idempotent)."""
        try:
            self.jobs.connect()
            self.campaigns.connect()
            _ping(self.jobs.docs_store)
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


def _ping(store: Store) -> None:
    """Fail now, not at the first query, if a MongoDB server is unreachable."""
    from pymongo.collection import Collection

    coll = getattr(store, "_coll", None)
    if isinstance(coll, Collection):
        coll.database.client.admin.command("ping")


def embedded_stores(path: str | Path) -> Stores:
    """On-disk MontyDB (sqlite) stores under ``path``."""
    from maggma.stores import MontyStore

    path = Path(path).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the store directory {path}: {exc}") from exc

    def monty(name: str) -> MontyStore:
        return MontyStore(
            collection_name=name,
            database_path=str(path),
            database_name="lpsflow",
            storage="sqlite",
        )

    jobs = JobStore(monty("jobs"), additional_stores={"data": monty("data")})
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


def open_stores(settings: StoreSettings, base_dir: Path | str = ".") -> Stores:
    """Build and connect the stores a campaign names."""
    if settings.type == "embedded":
        path = Path(settings.path).expanduser()
        if not path.is_absolute():
            path = Path(base_dir) / path
        stores = embedded_stores(path)
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
