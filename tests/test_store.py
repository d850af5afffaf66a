import time

import pytest

from lpsflow.campaign import StoreSettings
from lpsflow.errors import StoreError
from lpsflow.store import MONGODB_URI_ENV, open_stores, redact


def test_embedded_store_persists(tmp_path):
    stores = open_stores(StoreSettings(path=str(tmp_path / "db")))
    stores.campaigns.update([{"campaign": "x", "value": 1}], key="campaign")
    stores.close()
    again = open_stores(StoreSettings(path=str(tmp_path / "db")))
    assert again.campaigns.query_one({"campaign": "x"})["value"] == 1
    again.campaigns.update([{"campaign": "x", "value": 2}], key="campaign")
    assert again.campaigns.count({"campaign": "x"}) == 1


def test_unreachable_mongodb_fails_fast_with_clear_error():
    settings = StoreSettings(
        type="mongodb", uri="mongodb://127.0.0.1:1/", database="x", timeout_s=0.5
    )
    t0 = time.perf_counter()
    with pytest.raises(StoreError, match="cannot reach the mongodb store at mongodb"):
        open_stores(settings)
    assert time.perf_counter() - t0 < 20


def test_mongodb_needs_a_uri(monkeypatch):
    monkeypatch.delenv(MONGODB_URI_ENV, raising=False)
    with pytest.raises(StoreError, match=MONGODB_URI_ENV):
        open_stores(StoreSettings(type="mongodb"))


def test_password_is_redacted():
    assert (
        redact("mongodb://user:secret@host:27017/db")
        == "mongodb://user:***@host:27017/db"
    )


def test_bad_jobflow_yaml(tmp_path):
    bad = tmp_path / "jobflow.yaml"
    bad.write_text("JOB_STORE: [1, 2")
    with pytest.raises(StoreError, match="cannot read"):
        open_stores(StoreSettings(type="mongodb", jobflow_yaml=str(bad)))


def _indexed(path):
    from lpsflow.store import IndexedMontyStore

    store = IndexedMontyStore(
        collection_name="jobs", database_path=str(path), database_name="t"
    )
    store.connect()
    return store


def test_indexed_embedded_store_answers_like_montydb(tmp_path):
    from maggma.stores import MontyStore

    store = _indexed(tmp_path)
    docs = [
        {"uuid": u, "index": i, "output": {"energy": -float(n), "name": u}}
        for n, (u, i) in enumerate([("a", 1), ("a", 2), ("b", 1), ("c", 1)])
    ]
    store.update(docs, key=["uuid", "index"])
    plain = MontyStore(
        collection_name="jobs", database_path=str(tmp_path), database_name="t"
    )
    plain.connect()
    assert plain.count() == 4  # written through to the database

    last = store.query_one({"uuid": "a"}, ["output.energy"], sort={"index": -1})
    assert last["output"] == {"energy": -1.0}
    assert {d["uuid"] for d in store.query({"uuid": {"$in": ["a", "c", "z"]}})} == {
        "a",
        "c",
    }
    assert store.query_one({"uuid": "a", "index": 1})["output"]["energy"] == 0.0
    # a copy each time: callers may edit what they get
    store.query_one({"uuid": "b"})["output"]["energy"] = 99.0
    assert store.query_one({"uuid": "b"})["output"]["energy"] == -2.0
    # replacing keeps one document per key
    store.update(
        {"uuid": "b", "index": 1, "output": {"energy": 5.0}}, key=["uuid", "index"]
    )
    assert plain.count({"uuid": "b"}) == 1
    assert store.query_one({"uuid": "b"})["output"]["energy"] == 5.0
    # written by another process after this one read the store: found
    plain.update({"uuid": "d", "index": 1, "output": {}}, key=["uuid", "index"])
    assert store.query_one({"uuid": "d"}) is not None
    # any other query goes to montydb
    assert store.count({"output.energy": {"$lt": -2.5}}) == 1
    assert [d["uuid"] for d in store.query({"output.energy": 5.0})] == ["b"]


def _nested(n: int) -> dict:
    """A task-document-like record: nested documents, lists of them, scalars."""
    return {
        "uuid": f"u{n % 3}",
        "index": n,
        "output": {
            "energy": -1.5 * n,
            "structure": {
                "lattice": {"matrix": [[n, 0, 0], [0, 1, 0], [0, 0, 1]]},
                "sites": [{"label": "Li", "xyz": [0.1 * k, 0, 0]} for k in range(4)],
            },
        },
        "tags": ["a", {"k": n}],
        "lpsflow_run": {"cpu_s": 1.0 + n},
    }


@pytest.mark.parametrize("as_stored", [True, False])
def test_lookups_read_documents_as_stored_and_answer_like_montydb(
    tmp_path, monkeypatch, as_stored
):
    from bson.raw_bson import RawBSONDocument
    from maggma.stores import MontyStore

    from lpsflow import store as store_module

    writer = _indexed(tmp_path)
    writer.update([_nested(n) for n in range(7)], key=["uuid", "index"])
    # what it wrote the writer keeps encoded, as it would read it back
    kept = [d for docs in writer._lookup().values() for d in docs]
    assert len(kept) == 7 and all(isinstance(d, RawBSONDocument) for d in kept)
    back = writer.query_one({"uuid": "u2", "index": 5})
    assert {k: v for k, v in back.items() if k != "_id"} == _nested(5)
    if not as_stored:  # e.g. montydb's JSON encoding: lookups through montydb
        monkeypatch.setattr(store_module, "_raw_rows", lambda store: None)
    store = _indexed(tmp_path)  # a new connection reads the store afresh
    plain = MontyStore(
        collection_name="jobs", database_path=str(tmp_path), database_name="t"
    )
    plain.connect()
    uuids = {"uuid": {"$in": ["u0", "u1", "u2"]}}
    props = ["uuid", "index", "lpsflow_run", "output.structure.sites", "tags"]
    for properties in (None, props):
        got = sorted(store.query(uuids, properties), key=lambda d: d["index"])
        want = sorted(plain.query({}, properties), key=lambda d: d["index"])
        assert got == want and len(got) == 7
        assert all(type(d) is dict for d in got)
        assert type(got[0]["tags"][1]) is dict
    entries = [d for docs in store._lookup().values() for d in docs]
    assert all(isinstance(d, RawBSONDocument) for d in entries) is as_stored
    # what a query returns is the caller's to change
    doc = store.query_one({"uuid": "u1", "index": 4})
    doc["output"]["structure"]["sites"].clear()
    doc["tags"].append("x")
    again = store.query_one({"uuid": "u1", "index": 4})
    assert len(again["output"]["structure"]["sites"]) == 4
    assert again["tags"] == ["a", {"k": 4}]
    # written by another process after this one read the store: found, decoded
    plain.update(_nested(9) | {"uuid": "late"}, key=["uuid", "index"])
    late = store.query_one({"uuid": "late"}, ["output.energy"])
    assert late["output"] == {"energy": -13.5}


def test_documents_are_read_as_stored_only_from_bson_in_sqlite(tmp_path):
    from lpsflow.store import _raw_rows

    store = _indexed(tmp_path)
    store.update([_nested(1)], key=["uuid", "index"])
    assert len(_raw_rows(store)) == 1
    cfg = tmp_path / "monty.storage.cfg"
    cfg.write_text(cfg.read_text().replace("use_bson = yes", "use_bson = no"))
    assert _raw_rows(store) is None  # JSON documents: montydb decodes them
    cfg.write_text(cfg.read_text().replace("use_bson = no", "use_bson = yes"))
    assert len(_raw_rows(store)) == 1
    other = tmp_path / "t" / "other.collection"  # not montydb's table layout
    other.write_bytes(b"not a database")
    store.collection_name = "other"
    assert _raw_rows(store) is None
    cfg.unlink()
    assert _raw_rows(store) is None
