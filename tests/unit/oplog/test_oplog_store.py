"""OplogStore behaviour: logs, index tables, reads, closing and fault handling."""

from __future__ import annotations

import asyncio
import threading
import time

import msgspec
import pytest
from _oplog_helpers import create_entry, new_log

from oplog import (
    AccountRecord,
    Batch,
    CreatePromise,
    Durability,
    InvocationKeyRecord,
    NoOp,
    OplogError,
    OplogStore,
    StoreClosed,
    Table,
    TemplateVersionRecord,
    UnknownFormatVersion,
    WorkerExists,
    WorkerRecord,
    promise_key,
    template_version_key,
    worker_key,
)
from oplog.entries import ImportedFunctionInvoked
from tests.helpers import block_writer


def host_call(n: int) -> ImportedFunctionInvoked:
    return ImportedFunctionInvoked(timestamp=n, function="f", response={"n": n}, kind="read-local")


def test_first_entry_gets_index_1_and_reads_back(store):
    b = store.batch()
    b.create_log("t/w")
    assert b.append("t/w", create_entry("t/w")) == 1
    assert b.append("t/w", host_call(2)) == 2
    store.submit(b).wait(10)
    assert store.read("t/w") == [(1, create_entry("t/w")), (2, host_call(2))]
    assert store.committed_last_index("t/w") == 2
    assert store.last_index("t/w") == 2
    assert store.log_exists("t/w")
    assert store.list_logs() == ["t/w"]


def test_read_window_and_raw(store):
    new_log(store, "t/w")
    b = store.batch()
    for n in range(2, 11):
        assert b.append("t/w", host_call(n)) == n
    store.submit(b).wait(10)
    assert [i for i, _ in store.read("t/w", 4, 3)] == [4, 5, 6]
    assert [i for i, _ in store.read("t/w", 9)] == [9, 10]
    assert store.read("t/w", 11) == []
    assert store.read("t/w", 0, 1)[0][0] == 1  # the log starts at 1
    assert store.read("t/w", 3, 0) == []
    raw = store.read_raw("t/w", 5, 1)
    assert raw[0][0] == 5 and raw[0][1][0] == 1
    assert store.read("missing/w") == []


def test_logs_of_similar_keys_do_not_mix(store):
    for key in ["t/w", "t/w2", "t/w/x", "t/v", "t/w-"]:
        new_log(store, key)
    b = store.batch()
    b.append("t/w", host_call(7))
    store.submit(b).wait(10)
    assert store.list_logs() == sorted(["t/w", "t/w2", "t/w/x", "t/v", "t/w-"])
    assert [i for i, _ in store.read("t/w")] == [1, 2]
    assert store.committed_last_index("t/w") == 2
    assert store.committed_last_index("t/w2") == 1
    assert store.committed_last_index("t") == 0


def test_a_created_log_without_entries_exists(store):
    b = store.batch()
    b.create_log("t/empty")
    store.submit(b).wait(10)
    assert store.log_exists("t/empty")
    assert store.list_logs() == ["t/empty"]
    assert store.committed_last_index("t/empty") == 0
    assert store.read("t/empty") == []
    b = store.batch()
    assert b.append("t/empty", NoOp()) == 1
    store.submit(b).wait(10)
    assert store.read("t/empty") == [(1, NoOp())]


def test_append_without_a_log_fails_at_once(store):
    b = store.batch()
    with pytest.raises(OplogError, match="no log"):
        b.append("t/nope", NoOp())


def test_invalid_worker_keys_are_refused(store):
    b = store.batch()
    for bad in ["", "a\0b"]:
        with pytest.raises(OplogError, match="invalid worker key"):
            b.create_log(bad)


def test_create_twice_raises_worker_exists(store):
    new_log(store, "t/w")
    b = store.batch()
    b.create_log("t/w")
    b.append("t/w", create_entry("t/w"))
    with pytest.raises(WorkerExists):
        store.submit(b)
    # The failed batch wrote nothing and gave out no index of the live log.
    assert store.last_index("t/w") == 1
    store.flush(10)
    assert [i for i, _ in store.read("t/w")] == [1]


def test_create_twice_in_one_batch(store):
    b = store.batch()
    b.create_log("t/w")
    with pytest.raises(WorkerExists):
        b.create_log("t/w")


def test_create_while_the_first_creation_is_in_flight(store, monkeypatch):
    release = block_writer(store, monkeypatch)
    try:
        b1 = store.batch()
        b1.create_log("t/w")
        c1 = store.submit(b1)
        assert store.log_exists("t/w")  # in flight counts
        b2 = store.batch()
        b2.create_log("t/w")
        with pytest.raises(WorkerExists):
            store.submit(b2)
    finally:
        release()
    c1.wait(10)


def test_delete_log_restarts_indexes(store):
    new_log(store, "t/w")
    b = store.batch()
    b.append("t/w", host_call(2))
    store.submit(b).wait(10)
    b = store.batch()
    b.delete_log("t/w")
    store.submit(b).wait(10)
    assert not store.log_exists("t/w")
    assert store.read("t/w") == []
    assert store.last_index("t/w") == 0
    assert store.list_logs() == []
    b = store.batch()
    with pytest.raises(OplogError):
        b.append("t/w", NoOp())
    new_log(store, "t/w")
    assert [i for i, _ in store.read("t/w")] == [1]


def test_delete_and_recreate_in_one_batch(store):
    new_log(store, "t/w")
    b = store.batch()
    b.append("t/w", host_call(2))
    b.delete_log("t/w")
    b.create_log("t/w")
    assert b.append("t/w", create_entry("t/w", timestamp=9)) == 1
    store.submit(b).wait(10)
    assert store.read("t/w") == [(1, create_entry("t/w", timestamp=9))]
    assert store.last_index("t/w") == 1


def test_a_settled_log_is_forgotten_and_read_again_from_disk(store):
    for wk in ("t/a", "t/b"):
        new_log(store, wk)
    b = store.batch()
    b.append("t/a", host_call(2))
    store.submit(b).wait(10)
    assert store.tracked_logs() == 2
    assert store.forget_log("t/a") and store.forget_log("t/b")
    assert store.tracked_logs() == 0
    assert "t/a" not in store._writer._next
    assert not store.forget_log("t/a"), "nothing left to forget"
    # Both sides come back from disk: the next index is the one after the last committed.
    assert store.last_index("t/a") == 2 and store.log_exists("t/a")
    b = store.batch()
    assert b.append("t/a", host_call(3)) == 3
    assert b.append("t/b", host_call(3)) == 2
    store.submit(b).wait(10)
    assert [i for i, _ in store.read("t/a")] == [1, 2, 3]
    assert [i for i, _ in store.read("t/b")] == [1, 2]
    with pytest.raises(WorkerExists):
        new_log(store, "t/a")


def test_a_log_with_work_in_flight_is_not_forgotten(store, monkeypatch):
    new_log(store, "t/w")
    held = store.batch()
    held.append("t/w", host_call(2))
    assert not store.forget_log("t/w"), "an index is handed out and not committed"
    release = block_writer(store, monkeypatch)
    try:
        c = store.submit(held)
        assert not store.forget_log("t/w"), "submitted, not committed"
    finally:
        release()
    c.wait(10)
    creating = store.batch()
    creating.create_log("t/new")
    release = block_writer(store, monkeypatch)
    try:
        c = store.submit(creating)
        assert not store.forget_log("t/new"), "its creation is not committed"
        assert store.log_exists("t/new")
    finally:
        release()
    c.wait(10)
    assert store.forget_log("t/w") and store.forget_log("t/new")


def test_a_deleted_log_keeps_refusing_a_batch_of_its_old_life(store):
    new_log(store, "t/w")
    stale = store.batch()
    stale.append("t/w", host_call(2))
    b = store.batch()
    b.delete_log("t/w")
    b.create_log("t/w")
    b.append("t/w", create_entry("t/w", timestamp=9))
    store.submit(b).wait(10)
    assert not store.forget_log("t/w"), "its state is what tells the old life from the new"
    with pytest.raises(OplogError, match="deleted"):
        store.submit(stale)
    store.flush(10)
    assert store.read("t/w") == [(1, create_entry("t/w", timestamp=9))]


def test_forgetting_all_the_time_beside_appending_threads_loses_and_reorders_nothing(tmp_path):
    # The store's state and the writer's cache are dropped and rebuilt from disk while
    # other threads append (some batches waited for, some not, some dropped unsubmitted):
    # every log must still come out gap-free with each entry once, in each thread's order.
    store = OplogStore(tmp_path / "db", recent_limit=64)
    keys = [f"t/w{i}" for i in range(4)]
    try:
        for k in keys:
            new_log(store, k)
        stop = threading.Event()
        forgotten = [0]

        def forgetter() -> None:
            while not stop.is_set():
                forgotten[0] += sum(store.forget_log(k) for k in keys)

        def appender(n: int) -> None:
            for i in range(150):
                b = store.batch()
                b.append(keys[(n + i) % len(keys)], host_call(n * 1000 + i))
                if i % 7 == 3:
                    b.discard()  # its index is filled with a NoOp
                elif i % 3 == 0:
                    store.submit(b).wait(10)
                else:
                    store.submit(b)

        threads = [threading.Thread(target=forgetter)] + [threading.Thread(target=appender, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads[1:]:
            t.join(60)
        stop.set()
        threads[0].join(10)
        store.flush(30)
        seen = []
        for k in keys:
            log = store.read(k)
            assert [i for i, _ in log] == list(range(1, len(log) + 1)), k
            seen += [e.timestamp for _, e in log[1:] if type(e) is not NoOp]
        assert sorted(seen) == sorted(n * 1000 + i for n in range(6) for i in range(150) if i % 7 != 3)
        for n in range(6):
            for k in keys:
                in_log = [e.timestamp for _, e in store.read(k)[1:] if type(e) is not NoOp and e.timestamp // 1000 == n]
                assert in_log == sorted(in_log), "a thread's appends to one log kept their order"
        assert forgotten[0] > 0, "the forgetter never found a settled log"
    finally:
        store.close()


def test_delete_of_a_missing_log_is_harmless(store):
    b = store.batch()
    b.delete_log("t/none")
    store.submit(b).wait(10)
    assert store.list_logs() == []


def test_tables_put_get_delete_and_scan(store):
    rows = {
        worker_key("t1", "b"): WorkerRecord(
            template_id="t1", worker_name="b", template_version=0, account_id="a",
            args=["x"], env=[("K", "V")], created_at=5,
        ),
        worker_key("t1", "a"): WorkerRecord(
            template_id="t1", worker_name="a", template_version=1, account_id="a",
            args=[], env=[], created_at=6, status="Failed", last_error="boom",
        ),
        worker_key("t2", "a"): WorkerRecord(
            template_id="t2", worker_name="a", template_version=0, account_id="b",
            args=[], env=[], created_at=7,
        ),
    }
    b = store.batch()
    for k, v in rows.items():
        b.put(Table.WORKERS, k, v)
    b.put("meta", "schema", {"v": [1, 2], "b": b"\x00"})
    b.put(
        "template_versions",
        template_version_key("t1", 3),
        TemplateVersionRecord(template_id="t1", version=3, size=1, sha256="ab", metadata={"exports": []}, created_at=1),
    )
    store.submit(b).wait(10)

    assert store.get("workers", "t1/a") == rows["t1/a"]
    assert store.get("workers", "t1/zz") is None
    assert store.get("meta", "schema") == {"v": [1, 2], "b": b"\x00"}
    assert store.get("template_versions", "t1/0000000003").metadata == {"exports": []}
    assert [k for k, _ in store.scan("workers")] == ["t1/a", "t1/b", "t2/a"]
    assert [k for k, _ in store.scan("workers", prefix="t1/")] == ["t1/a", "t1/b"]
    assert [k for k, _ in store.scan("workers", start_after="t1/a")] == ["t1/b", "t2/a"]
    assert [k for k, _ in store.scan("workers", prefix="t1/", start_after="t1/a")] == ["t1/b"]
    assert [k for k, _ in store.scan("workers", limit=2)] == ["t1/a", "t1/b"]
    assert store.scan("workers", limit=0) == []
    assert store.scan("workers", prefix="t3/") == []

    updated = msgspec.structs.replace(rows["t1/a"], status="Idle", last_error=None)
    b = store.batch()
    b.put("workers", "t1/a", updated)
    b.delete("workers", "t1/b")
    b.delete("workers", "never-there")
    store.submit(b).wait(10)
    assert store.get("workers", "t1/a") == updated
    assert [k for k, _ in store.scan("workers")] == ["t1/a", "t2/a"]


def test_table_rows_must_have_the_table_type(store):
    b = store.batch()
    with pytest.raises(OplogError, match="stores WorkerRecord"):
        b.put("workers", "k", AccountRecord(account_id="a", name="n", created_at=0))
    with pytest.raises(OplogError, match="unknown table"):
        b.put("nope", "k", 1)
    with pytest.raises(OplogError, match="unknown table"):
        b.put("oplog", "k", 1)
    with pytest.raises(OplogError, match="unknown table"):
        store.get("oplog", "k")
    with pytest.raises(OplogError):
        b.put("meta", "k", object())


def test_blobs_are_raw_bytes(store):
    data = bytes(range(256)) * 10
    b = store.batch()
    b.put_blob("abc", data)
    b.put("blobs", "def", b"second")
    store.submit(b).wait(10)
    assert store.get_blob("abc") == data
    assert store.get("blobs", "def") == b"second"
    assert store.get_blob("nope") is None
    assert store.scan("blobs") == [("abc", data), ("def", b"second")]


def test_unknown_version_of_a_row_is_named(store):
    b = store.batch()
    b.put("meta", "k", 1)
    store.submit(b).wait(10)
    with store._env.begin(write=True) as txn:  # a row written by a future version
        txn.put(b"k", b"\x07\x01", db=store._dbs["meta"])
    with pytest.raises(UnknownFormatVersion, match="version 7"):
        store.get("meta", "k")


def test_records_round_trip_with_replace(store):
    rec = InvocationKeyRecord(template_id="t", worker_name="w", state="created")
    b = store.batch()
    b.put("keys", "k1", rec)
    store.submit(b).wait(10)
    done = msgspec.structs.replace(store.get("keys", "k1"), state="complete", completed_idx=4)
    b = store.batch()
    b.put("keys", "k1", done)
    store.submit(b).wait(10)
    assert store.get("keys", "k1") == InvocationKeyRecord(
        template_id="t", worker_name="w", state="complete", completed_idx=4
    )
    assert promise_key("t", "w", 12) < promise_key("t", "w", 100)


def test_reopen_keeps_everything_and_continues_indexes(tmp_path):
    s = OplogStore(tmp_path / "db")
    new_log(s, "t/w")
    b = s.batch()
    b.append("t/w", host_call(2))
    b.put("meta", "x", [1])
    s.submit(b)
    s.close()  # commits what is queued
    s.close()  # idempotent
    s = OplogStore(tmp_path / "db")
    try:
        assert [i for i, _ in s.read("t/w")] == [1, 2]
        assert s.last_index("t/w") == 2
        assert s.get("meta", "x") == [1]
        b = s.batch()
        assert b.append("t/w", host_call(3)) == 3
        s.submit(b).wait(10)
    finally:
        s.close()


def test_use_after_close(tmp_path):
    s = OplogStore(tmp_path / "db")
    new_log(s, "t/w")
    b = s.batch()
    s.close()
    with pytest.raises(StoreClosed):
        b.create_log("t/x") or s.submit(b)
    with pytest.raises(StoreClosed):
        s.read("t/w")
    with pytest.raises(StoreClosed):
        s.batch().append("t/w", NoOp())
    s.flush(1)  # nothing pending: returns


def test_batch_cannot_be_submitted_twice_or_to_another_store(store, tmp_path):
    b = store.batch()
    store.submit(b).wait(10)
    with pytest.raises(OplogError, match="already submitted"):
        store.submit(b)
    with pytest.raises(OplogError, match="already submitted"):
        b.put("meta", "k", 1)
    other = OplogStore(tmp_path / "other")
    try:
        with pytest.raises(OplogError, match="another store"):
            other.submit(store.batch())
    finally:
        other.close()


def test_empty_batch_is_a_barrier(store):
    new_log(store, "t/w")
    c = store.submit(store.batch())
    c.wait(10)
    assert c.done()


def test_durability_modes(tmp_path):
    for mode in Durability:
        s = OplogStore(tmp_path / mode.value, durability=mode.value)
        try:
            flags = s._env.flags()
            assert flags["sync"] == (mode is not Durability.NONE)
            assert flags["metasync"] == (mode is Durability.SYNC)
            new_log(s, "t/w")
        finally:
            s.close()
        s = OplogStore(tmp_path / mode.value, durability=mode)
        try:
            assert s.committed_last_index("t/w") == 1
        finally:
            s.close()
    with pytest.raises(ValueError):
        OplogStore(tmp_path / "bad", durability="sometimes")


def test_map_grows_instead_of_failing_while_readers_read(tmp_path):
    s = OplogStore(tmp_path / "db", map_size=256 << 10)
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                s.read("t/w", 1, 50)
                s.scan("meta")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    try:
        new_log(s, "t/w")
        readers = [threading.Thread(target=reader) for _ in range(3)]
        for t in readers:
            t.start()
        blob = b"z" * 20_000
        for i in range(60):
            b = s.batch()
            b.append("t/w", ImportedFunctionInvoked(function="f", response=blob, kind="read-local"))
            b.put("meta", f"k{i:03d}", blob)
            s.submit(b)
        s.flush(30)
        stop.set()
        for t in readers:
            t.join(10)
        assert errors == []
        assert s.stats["map_resizes"] >= 1
        assert s.committed_last_index("t/w") == 61
        assert len(s.scan("meta")) == 60
    finally:
        stop.set()
        s.close()
    s = OplogStore(tmp_path / "db", map_size=256 << 10)
    try:
        assert s.committed_last_index("t/w") == 61
        assert s.read("t/w", 61)[0][1].response == b"z" * 20_000
    finally:
        s.close()


def test_group_commit_takes_many_batches_per_commit(store):
    threads = 64
    keys = [f"t/w{i}" for i in range(threads)]
    b = store.batch()
    for k in keys:
        b.create_log(k)
        b.append(k, create_entry(k))
    store.submit(b).wait(10)
    before = dict(store.stats)
    per_thread = 5
    barrier = threading.Barrier(threads)
    failures: list[BaseException] = []

    def run(key: str) -> None:
        try:
            barrier.wait(10)
            for n in range(per_thread):
                b = store.batch()
                b.append(key, host_call(n))
                store.submit(b).wait(30)
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    ts = [threading.Thread(target=run, args=(k,)) for k in keys]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert failures == []
    batches = store.stats["batches"] - before["batches"]
    commits = store.stats["commits"] - before["commits"]
    assert batches == threads * per_thread
    assert store.stats["entries"] - before["entries"] == threads * per_thread
    assert commits < batches / 4, (commits, batches)
    for k in keys:
        assert [i for i, _ in store.read(k)] == list(range(1, per_thread + 2))


def test_concurrent_appends_to_one_worker_get_distinct_consecutive_indexes(store):
    new_log(store, "t/w")
    got: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        for n in range(50):
            b = store.batch()
            i = b.append("t/w", host_call(n))
            c = store.submit(b)
            with lock:
                got.append(i)
            if n % 10 == 0:
                c.wait(30)

    ts = [threading.Thread(target=run) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    store.flush(30)
    assert sorted(got) == list(range(2, 402))
    assert [i for i, _ in store.read("t/w")] == list(range(1, 402))


async def test_commit_is_awaitable(store):
    b = store.batch()
    b.create_log("t/w")
    b.append("t/w", create_entry("t/w"))
    await store.commit(b)
    assert store.committed_last_index("t/w") == 1
    b = store.batch()
    b.append("t/w", NoOp())
    c = store.submit(b)
    await asyncio.gather(c, c)  # two awaiters of one handle
    assert c.done()
    await c  # already resolved


async def test_awaiting_a_failed_commit_raises(store, monkeypatch):
    boom = RuntimeError("disk on fire")
    monkeypatch.setattr(store, "_begin_write", lambda: FailingTxn(store._env.begin(write=True), boom))
    b = store.batch()
    b.put("meta", "k", 1)
    with pytest.raises(RuntimeError, match="disk on fire"):
        await store.commit(b)


def test_done_callbacks(store):
    seen: list[object] = []
    b = store.batch()
    b.put("meta", "k", 1)
    c = store.submit(b)
    c.add_done_callback(seen.append)
    c.wait(10)
    c.add_done_callback(seen.append)  # already done: called at once
    assert seen == [None, None]


def test_a_failing_callback_does_not_stop_the_writer(store):
    b = store.batch()
    b.put("meta", "k", 1)
    c = store.submit(b)
    c.add_done_callback(lambda err: 1 / 0)
    c.wait(10)
    b = store.batch()
    b.put("meta", "k", 2)
    store.submit(b).wait(10)
    assert store.get("meta", "k") == 2


# -- fault injection ------------------------------------------------------------


class FailingTxn:
    """A write transaction whose writes raise `error`."""

    def __init__(self, txn, error: BaseException) -> None:
        self._txn = txn
        self._error = error

    def put(self, *a, **k):
        raise self._error

    def cursor(self, *a, **k):
        return FailingCursor(self._txn.cursor(*a, **k), self._error)

    def __getattr__(self, name):
        return getattr(self._txn, name)


class FailingCursor:
    def __init__(self, cur, error: BaseException) -> None:
        self._cur = cur
        self._error = error

    def putmulti(self, *a, **k):
        raise self._error

    def put(self, *a, **k):
        raise self._error

    def __getattr__(self, name):
        return getattr(self._cur, name)


def test_a_failed_commit_reaches_every_waiter_and_fails_the_store(store, monkeypatch):
    from oplog import WriterFailed

    new_log(store, "t/w")
    boom = RuntimeError("disk on fire")
    release = block_writer(
        store, monkeypatch, then=lambda: FailingTxn(store._env.begin(write=True), boom)
    )
    results: dict[int, BaseException | None] = {}

    def waiter(n: int) -> None:
        b = store.batch()
        b.append("t/w", host_call(n))
        try:
            store.submit(b).wait(30)
            results[n] = None
        except BaseException as exc:  # noqa: BLE001
            results[n] = exc

    ts = [threading.Thread(target=waiter, args=(n,)) for n in range(8)]
    for t in ts:
        t.start()
    deadline = time.monotonic() + 10
    while len(store._pending) < 8 and time.monotonic() < deadline:
        time.sleep(0.001)
    release()
    for t in ts:
        t.join(30)
    assert len(results) == 8
    assert all(r is boom for r in results.values()), results

    b = store.batch()
    b.put("meta", "later", 1)
    with pytest.raises(WriterFailed) as info:
        store.submit(b)
    assert info.value.__cause__ is boom
    with pytest.raises(WriterFailed):
        store.batch().append("t/w", NoOp())
    with pytest.raises(WriterFailed):
        store.flush(1)
    # Nothing of the failed round is on disk; committed data is still readable.
    assert [i for i, _ in store.read("t/w")] == [1]
    assert store.get("meta", "__blocker__") == 0


def test_batches_queued_behind_a_failure_get_writer_failed(store, monkeypatch):
    from oplog import WriterFailed

    boom = OSError("EIO")
    first = {"done": False}

    def then():
        return FailingTxn(store._env.begin(write=True), boom)

    release = block_writer(store, monkeypatch, then=then)
    # Two batches for different rounds: fill the queue beyond one round.
    store._writer._max = 1
    commits = []
    for n in range(3):
        b = store.batch()
        b.put("meta", f"k{n}", n)
        commits.append(store.submit(b))
    release()
    with pytest.raises(OSError):
        commits[0].wait(10)
    for c in commits[1:]:
        with pytest.raises(WriterFailed) as info:
            c.wait(10)
        assert info.value.__cause__ is boom
    assert first == {"done": False}


def test_submit_blocks_while_the_queue_is_full(tmp_path, monkeypatch):
    s = OplogStore(tmp_path / "db", max_queued_batches=2)
    try:
        release = block_writer(s, monkeypatch)
        for n in range(2):
            b = s.batch()
            b.put("meta", f"k{n}", n)
            s.submit(b)
        third_done = threading.Event()

        def third() -> None:
            b = s.batch()
            b.put("meta", "k2", 2)
            s.submit(b).wait(10)
            third_done.set()

        t = threading.Thread(target=third)
        t.start()
        assert not third_done.wait(0.3)  # backpressure: blocked in submit
        release()
        assert third_done.wait(10)
        t.join(10)
        assert [k for k, _ in s.scan("meta", prefix="k")] == ["k0", "k1", "k2"]
    finally:
        s.close()


def test_close_commits_queued_batches(tmp_path, monkeypatch):
    s = OplogStore(tmp_path / "db")
    release = block_writer(s, monkeypatch)
    new_commits = []
    b = s.batch()
    b.create_log("t/w")
    b.append("t/w", create_entry("t/w"))
    new_commits.append(s.submit(b))
    for n in range(5):
        b = s.batch()
        b.append("t/w", host_call(n))
        new_commits.append(s.submit(b))
    closer = threading.Thread(target=s.close)
    closer.start()
    time.sleep(0.05)
    release()
    closer.join(10)
    assert all(c.done() for c in new_commits)
    for c in new_commits:
        c.wait(0)
    s = OplogStore(tmp_path / "db")
    try:
        assert s.committed_last_index("t/w") == 6
    finally:
        s.close()


def test_flush_times_out_while_the_writer_is_stuck(store, monkeypatch):
    release = block_writer(store, monkeypatch)
    try:
        with pytest.raises(TimeoutError):
            store.flush(0.1)
    finally:
        release()
    store.flush(10)


def test_commit_wait_timeout(store, monkeypatch):
    release = block_writer(store, monkeypatch)
    b = store.batch()
    b.put("meta", "k", 1)
    c = store.submit(b)
    try:
        with pytest.raises(TimeoutError):
            c.wait(0.05)
        assert not c.done()
    finally:
        release()
    c.wait(10)


def test_batch_len_counts_operations(store):
    b = store.batch()
    assert isinstance(b, Batch) and len(b) == 0
    b.put("meta", "a", 1)
    b.delete("meta", "b")
    assert len(b) == 2


def test_create_promise_index_is_known_before_commit(store):
    new_log(store, "t/w")
    b = store.batch()
    idx = b.append("t/w", CreatePromise())
    assert idx == 2 and store.last_index("t/w") == 2
    store.submit(b).wait(10)
    assert store.read("t/w", idx, 1)[0][1] == CreatePromise()
