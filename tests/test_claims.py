"""Claims between runners that share a store: the protocol on each backend."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest

from lpsflow.dispatch import claims as cl
from lpsflow.dispatch.claim_backends import (
    MONGO_COLLECTION,
    SQLITE_FILE,
    MemoryClaims,
    MongoClaims,
    SqliteClaims,
    claims_for,
)
from lpsflow.dispatch.claims import Taken


def _mongo(tmp_path):
    import mongomock

    return MongoClaims(mongomock.MongoClient().db[MONGO_COLLECTION], "mock")


BACKENDS = {
    "sqlite": lambda tmp_path: SqliteClaims(tmp_path / "claims.sqlite"),
    "mongo": _mongo,
    "memory": lambda tmp_path: MemoryClaims(),
}


@pytest.fixture(params=list(BACKENDS))
def pair(request, tmp_path):
    """Two runners' views of one store's claims (for sqlite: two objects)."""
    a = BACKENDS[request.param](tmp_path)
    b = (
        SqliteClaims(a.path)
        if isinstance(a, SqliteClaims)
        else a.__class__.__new__(a.__class__)
    )
    if not isinstance(a, SqliteClaims):  # the same rows, another runner
        b.__dict__.update(a.__dict__)
    return a, b


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(proc.stdout)


def test_a_held_job_is_left_to_its_live_runner_and_taken_once_done(pair):
    a, b = pair
    with a.session("A"), b.session("B"):
        assert a.acquire("j1", "relax X") == (Taken.MINE, None)
        assert a.acquire("j1", "relax X")[0] is Taken.MINE  # its own claim
        taken, other = b.acquire("j1", "relax X", stored=lambda u: False)
        assert taken is Taken.HELD and other.kind == "A" and other.name == "relax X"
        a.finish("j1")
        asked = []
        taken, other = b.acquire("j1", stored=lambda u: asked.append(u) or True)
        assert (taken, asked) == (Taken.DONE, ["j1"])
        # a fresh job is never looked up in the store: nobody had it
        assert b.acquire("j2", stored=lambda u: pytest.fail("asked"))[0] is Taken.MINE


def test_a_done_job_whose_output_is_gone_is_computed_again(pair):
    a, b = pair
    with a.session("A"), b.session("B"):
        a.acquire("j1")
        a.finish("j1")
        taken, other = b.acquire("j1", stored=lambda u: False)
        assert taken is Taken.MINE and other.state == cl.STATE_DONE
        assert a.acquire("j1", stored=lambda u: False)[0] is Taken.HELD


def test_the_claim_of_a_dead_runner_is_taken_over(pair):
    a, b = pair
    with a.session("A"), b.session("B"):
        a.runner = replace(a.runner, pid=_dead_pid())
        a.acquire("j1")
        taken, other = b.acquire("j1", stored=lambda u: False)
        assert taken is Taken.MINE and other.runner == a.runner.id
        # stored before it died: nothing to compute
        a.acquire("j2")
        assert b.acquire("j2", stored=lambda u: True)[0] is Taken.DONE


def test_another_hosts_claim_is_taken_over_when_its_heartbeat_is_stale(
    pair, monkeypatch
):
    a, b = pair
    with a.session("A"), b.session("B"):
        a.runner = replace(a.runner, host="node-elsewhere", pid=1)
        a.acquire("j1")
        assert b.acquire("j1", stored=lambda u: False)[0] is Taken.HELD
        monkeypatch.setattr(cl, "STALE_S", -1.0)
        assert b.acquire("j1", stored=lambda u: False)[0] is Taken.MINE


def test_a_heartbeat_keeps_a_claim_fresh(pair, monkeypatch):
    monkeypatch.setattr(cl, "BEAT_S", 0.05)
    a, _ = pair
    with a.session("A"):
        a.acquire("j1")
        first = a.held()[0].beat
        time.sleep(0.3)
        assert a.held()[0].beat > first
    assert a.held() == []  # an interrupted job's claim is let go


def test_a_failure_stops_runners_running_now_and_is_retried_by_later_ones(pair):
    a, b = pair
    with b.session("B"):
        with a.session("A"):
            a.acquire("j1")
            a.fail("j1", "ValueError: no")
            taken, other = b.acquire("j1")
            assert (taken, other.message) == (Taken.FAILED, "ValueError: no")
        assert [c.state for c in b.held()] == [cl.STATE_FAILED]  # kept
    with b.session("B again"):  # started after the failure: tries again
        assert b.acquire("j1")[0] is Taken.MINE


def test_only_one_of_many_threads_takes_a_job(tmp_path):
    claims = [SqliteClaims(tmp_path / "claims.sqlite") for _ in range(8)]
    won: list[int] = []
    barrier = threading.Barrier(len(claims))

    def grab(i: int) -> None:
        c = claims[i]
        c.runner = cl.Runner.this_process(f"r{i}")
        barrier.wait()
        if c.acquire("j1")[0] is Taken.MINE:
            won.append(i)

    threads = [threading.Thread(target=grab, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1


def test_exclusive_serialises_a_read_modify_write(tmp_path):
    path = tmp_path / "claims.sqlite"
    counter = tmp_path / "n"
    counter.write_text("0")

    def add() -> None:
        c = SqliteClaims(path)
        for _ in range(20):
            with c.exclusive("manifest:x"):
                n = int(counter.read_text())
                time.sleep(0.001)
                counter.write_text(str(n + 1))

    threads = [threading.Thread(target=add) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.read_text() == "60"


def test_claims_live_with_the_store(tmp_path):
    import mongomock
    from maggma.stores import MemoryStore, MongoStore

    from lpsflow.store import embedded_stores

    stores = embedded_stores(tmp_path / "s").connect()
    assert isinstance(stores.claims, SqliteClaims)
    assert stores.claims.path == tmp_path / "s" / SQLITE_FILE
    mongo = MongoStore("db", "jobs")
    mongo._coll = mongomock.MongoClient().db.jobs
    assert isinstance(claims_for(mongo), MongoClaims)
    memory = MemoryStore()  # mongomock: claims in its (per-process) database
    memory.connect()
    assert isinstance(claims_for(memory), MongoClaims)
    with pytest.warns(UserWarning, match="cannot coordinate"):
        assert isinstance(claims_for(object()), MemoryClaims)


def test_a_heartbeat_between_reading_and_writing_a_claim_loses_nothing(pair):
    a, b = pair
    with a.session("A"), b.session("B"):
        a.acquire("j1")
        read = a._get

        def get_then_beat(uuid):  # the heartbeat thread fires in between
            row = read(uuid)
            a._beat(a.runner.id, time.time() + 5)
            return row

        a._get = get_then_beat
        a.finish("j1")
        a._get = read
    # the job stays done after its runner has gone: nobody computes it again
    with b.session("B2"):
        asked = []
        assert b.acquire("j1", stored=lambda u: asked.append(u) or True)[0] is (
            Taken.DONE
        )
        assert asked == ["j1"]


def test_a_claim_taken_over_is_not_marked_by_its_old_holder(pair):
    a, b = pair
    with a.session("A"), b.session("B"):
        a.runner = replace(a.runner, host="node-elsewhere", pid=1)
        a.acquire("j1")
        a._set("j1", a.runner.id, {"beat": 0.0})  # its heartbeat long stale
        assert b.acquire("j1", stored=lambda u: False)[0] is Taken.MINE
        assert not a.holds("j1") and b.holds("j1")
        with pytest.raises(cl.StoreError, match="no longer claimed"):
            a.finish("j1")


def test_exclusive_is_reentrant(tmp_path):
    path = tmp_path / "claims.sqlite"
    outer, other = SqliteClaims(path), SqliteClaims(path)
    with outer.exclusive("lock"):
        with outer.exclusive("lock"):
            pass
        # still held after the inner block: another process cannot take it
        with other.session("other", heartbeat=False):
            assert other.acquire(cl.LOCK_PREFIX + "lock")[0] is Taken.HELD
            assert other.busy_here() == 0  # a lock is no job
            assert other.held() == []
    with other.exclusive("lock", timeout_s=1):
        pass


def test_jobs_other_runners_compute_on_this_host_are_counted(pair):
    a, b = pair
    with a.session("A"), b.session("B"):
        a.acquire("j1")
        a.acquire("j2")
        b.acquire("j3")
        assert (b.busy_here(), a.busy_here()) == (2, 1)
        a.finish("j2")
        assert b.busy_here() == 1
        a.runner = replace(a.runner, pid=_dead_pid())  # its claims now a dead one's
        a.acquire("j4")
        assert b.busy_here() == 1
        a.runner = replace(a.runner, host="node-elsewhere")  # another host's cores
        a.acquire("j5")
        assert b.busy_here() == 1
