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
