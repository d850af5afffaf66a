"""Where the claims live, by kind of store.

SQLite beside an embedded store, a MongoDB collection beside a MongoDB store,
memory for a store of neither kind (one process only).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lpsflow.dispatch.claims import CLAIM_FIELDS, STATE_RUNNING, Claims

#: Name of the claims table's file in an embedded store's folder.
SQLITE_FILE = "claims.sqlite"


#: Collection of the claims in a MongoDB store's database.
MONGO_COLLECTION = "lpsflow_claims"


class SqliteClaims(Claims):
    """Claims in a sqlite file (the embedded store's folder)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        super().__init__(str(self.path))
        self._ready = False

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        # a connection per use: the heartbeat thread and the runner never share one;
        # autocommit, each statement one atomic transaction
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            if not self._ready:
                cols = ", ".join(f for f in CLAIM_FIELDS if f != "uuid")
                con.execute(
                    f"CREATE TABLE IF NOT EXISTS claims (uuid TEXT PRIMARY KEY, {cols})"
                )
                self._ready = True
            yield con
        finally:
            con.close()

    def _insert(self, row: dict) -> bool:
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self._db() as con:
            cur = con.execute(
                f"INSERT OR IGNORE INTO claims ({names}) VALUES ({marks})",
                tuple(row.values()),
            )
            return cur.rowcount == 1

    def _get(self, uuid: str) -> dict | None:
        with self._db() as con:
            con.row_factory = sqlite3.Row
            found = con.execute("SELECT * FROM claims WHERE uuid = ?", (uuid,))
            row = found.fetchone()
            return dict(row) if row else None

    def _replace(self, old: dict, row: dict) -> bool:
        sets = ", ".join(f"{k} = ?" for k in row)
        with self._db() as con:
            cur = con.execute(
                f"UPDATE claims SET {sets} WHERE uuid = ? AND runner = ? AND beat = ? "
                "AND state = ?",
                (*row.values(), old["uuid"], old["runner"], old["beat"], old["state"]),
            )
            return cur.rowcount == 1

    def _set(self, uuid: str, runner: str, fields: dict) -> bool:
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self._db() as con:
            cur = con.execute(
                f"UPDATE claims SET {sets} WHERE uuid = ? AND runner = ?",
                (*fields.values(), uuid, runner),
            )
            return cur.rowcount == 1

    def _delete(self, uuid: str, runner: str) -> None:
        with self._db() as con:
            con.execute(
                "DELETE FROM claims WHERE uuid = ? AND runner = ?", (uuid, runner)
            )

    def _release_all(self, runner: str) -> None:
        with self._db() as con:
            con.execute(
                "DELETE FROM claims WHERE runner = ? AND state = ?",
                (runner, STATE_RUNNING),
            )

    def _beat(self, runner: str, now: float) -> None:
        with self._db() as con:
            con.execute(
                "UPDATE claims SET beat = ? WHERE runner = ? AND state = ?",
                (now, runner, STATE_RUNNING),
            )

    def _rows(self, state: str) -> list[dict]:
        if not self.path.exists():  # reading creates nothing
            return []
        with self._db() as con:
            con.row_factory = sqlite3.Row
            found = con.execute("SELECT * FROM claims WHERE state = ?", (state,))
            return [dict(r) for r in found]


class MongoClaims(Claims):
    """Claims in a MongoDB collection (``pymongo`` or mongomock)."""

    def __init__(self, collection: Any, location: str) -> None:
        super().__init__(location)
        self.coll = collection

    def _insert(self, row: dict) -> bool:
        from pymongo.errors import DuplicateKeyError

        try:
            self.coll.insert_one({"_id": row["uuid"], **row})
        except DuplicateKeyError:
            return False
        return True

    def _get(self, uuid: str) -> dict | None:
        return self.coll.find_one({"_id": uuid})

    def _replace(self, old: dict, row: dict) -> bool:
        match = {k: old[k] for k in ("runner", "beat", "state")}
        done = self.coll.update_one(
            {"_id": old["uuid"], **match},
            {"$set": {k: v for k, v in row.items() if k != "_id"}},
        )
        return done.matched_count == 1

    def _set(self, uuid: str, runner: str, fields: dict) -> bool:
        done = self.coll.update_one({"_id": uuid, "runner": runner}, {"$set": fields})
        return done.matched_count == 1

    def _delete(self, uuid: str, runner: str) -> None:
        self.coll.delete_one({"_id": uuid, "runner": runner})

    def _release_all(self, runner: str) -> None:
        self.coll.delete_many({"runner": runner, "state": STATE_RUNNING})

    def _beat(self, runner: str, now: float) -> None:
        self.coll.update_many(
            {"runner": runner, "state": STATE_RUNNING}, {"$set": {"beat": now}}
        )

    def _rows(self, state: str) -> list[dict]:
        return list(self.coll.find({"state": state}))


class MemoryClaims(Claims):
    """Claims of a store that lives in one process (a test's memory store)."""

    def __init__(self) -> None:
        super().__init__("memory")
        self._rows_by_uuid: dict[str, dict] = {}
        self._lock = threading.Lock()

    def _insert(self, row: dict) -> bool:
        with self._lock:
            if row["uuid"] in self._rows_by_uuid:
                return False
            self._rows_by_uuid[row["uuid"]] = dict(row)
            return True

    def _get(self, uuid: str) -> dict | None:
        with self._lock:
            row = self._rows_by_uuid.get(uuid)
            return dict(row) if row else None

    def _replace(self, old: dict, row: dict) -> bool:
        with self._lock:
            now = self._rows_by_uuid.get(old["uuid"])
            if now is None or any(
                now[k] != old[k] for k in ("runner", "beat", "state")
            ):
                return False
            self._rows_by_uuid[old["uuid"]] = dict(row)
            return True

    def _set(self, uuid: str, runner: str, fields: dict) -> bool:
        with self._lock:
            row = self._rows_by_uuid.get(uuid)
            if row is None or row["runner"] != runner:
                return False
            row.update(fields)
            return True

    def _delete(self, uuid: str, runner: str) -> None:
        with self._lock:
            if self._rows_by_uuid.get(uuid, {}).get("runner") == runner:
                del self._rows_by_uuid[uuid]

    def _release_all(self, runner: str) -> None:
        with self._lock:
            for uuid, row in list(self._rows_by_uuid.items()):
                if row["runner"] == runner and row["state"] == STATE_RUNNING:
                    del self._rows_by_uuid[uuid]

    def _beat(self, runner: str, now: float) -> None:
        with self._lock:
            for row in self._rows_by_uuid.values():
                if row["runner"] == runner and row["state"] == STATE_RUNNING:
                    row["beat"] = now

    def _rows(self, state: str) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self._rows_by_uuid.values() if r["state"] == state]


def claims_for(docs_store: Any) -> Claims:
    """The claims that belong with a JobStore's docs store.

    An embedded (montydb) store keeps them in :data:`SQLITE_FILE` in its folder, a
    MongoDB store in :data:`MONGO_COLLECTION` of its database; anything else (an
    in-memory store) in this process.
    """
    from maggma.stores import MontyStore

    if isinstance(docs_store, MontyStore):
        return SqliteClaims(Path(docs_store.database_path) / SQLITE_FILE)
    coll = getattr(docs_store, "_coll", None)
    database = getattr(coll, "database", None)
    if database is not None and hasattr(coll, "find_one_and_update"):
        name = getattr(docs_store, "database", None) or database.name
        return MongoClaims(database[MONGO_COLLECTION], f"{name}.{MONGO_COLLECTION}")
    warnings.warn(
        f"{type(docs_store).__name__} keeps no claims: runners in other processes "
        "that share it cannot coordinate",
        stacklevel=2,
    )
    return MemoryClaims()
