"""rebuild_indexes: the "workers", "keys" and "promises" rows come back from the logs."""

from __future__ import annotations

import msgspec
from _oplog_helpers import create_entry

from oplog import (
    CompletePromise,
    CreatePromise,
    ExportedFunctionCompleted,
    ExportedFunctionInvoked,
    ImportedFunctionInvoked,
    InvocationKeyRecord,
    PendingWorkerInvocation,
    PromiseRecord,
    WorkerRecord,
    derive_indexes,
    promise_key,
)


def build(store):
    """Two workers' logs and the rows an executor would have written with them."""
    a = "t1/a"
    b = store.batch()
    b.create_log(a)
    create = create_entry(a, timestamp=111)
    create = msgspec.structs.replace(create, args=["--x"], env=[("K", "V")], template_version=3)
    b.append(a, create)  # 1
    b.append(a, ExportedFunctionInvoked(function="f", params=[1], invocation_key="key-done"))  # 2
    b.append(a, ImportedFunctionInvoked(function="now", response=5, kind="read-local"))  # 3
    b.append(a, CreatePromise())  # 4
    b.append(a, ExportedFunctionCompleted(result=[2]))  # 5
    b.append(a, ExportedFunctionInvoked(function="g", params=[], invocation_key=None))  # 6
    b.append(a, CreatePromise())  # 7
    b.append(a, CompletePromise(promise_idx=4, data=b"hello"))  # 8
    b.append(a, ExportedFunctionCompleted(result=None))  # 9
    b.append(a, PendingWorkerInvocation(function="h", params=[], invocation_key="key-queued"))  # 10
    b.append(a, ExportedFunctionInvoked(function="f", params=[2], invocation_key="key-running", pending_idx=None))  # 11
    b.put("workers", a, WorkerRecord(
        template_id="t1", worker_name="a", template_version=3, account_id="acc",
        args=["--x"], env=[("K", "V")], created_at=111, status="Suspended", retry_count=2,
        last_error="trap",
    ))
    w2 = "t2/b"
    b.create_log(w2)
    b.append(w2, create_entry(w2, timestamp=222))
    b.append(w2, CreatePromise())  # 2
    store.submit(b).wait(10)
    return a, w2


def expected_rows():
    keys = {
        "key-done": InvocationKeyRecord(template_id="t1", worker_name="a", state="complete", completed_idx=5),
        "key-queued": InvocationKeyRecord(template_id="t1", worker_name="a", state="pending"),
        "key-running": InvocationKeyRecord(template_id="t1", worker_name="a", state="pending"),
    }
    promises = {
        promise_key("t1", "a", 4): PromiseRecord(
            template_id="t1", worker_name="a", oplog_idx=4, state="complete", data=b"hello"
        ),
        promise_key("t1", "a", 7): PromiseRecord(template_id="t1", worker_name="a", oplog_idx=7, state="pending"),
        promise_key("t2", "b", 2): PromiseRecord(template_id="t2", worker_name="b", oplog_idx=2, state="pending"),
    }
    return keys, promises


def test_rebuild_restores_deleted_rows_and_keeps_cached_status(store):
    a, w2 = build(store)
    keys, promises = expected_rows()
    b = store.batch()
    b.put("keys", "key-unused", InvocationKeyRecord(template_id="t1", worker_name="a", state="created"))
    b.put("keys", "key-done", InvocationKeyRecord(template_id="t1", worker_name="a", state="pending"))  # stale
    b.put("promises", promise_key("t9", "gone", 3), PromiseRecord(
        template_id="t9", worker_name="gone", oplog_idx=3, state="pending"))  # no log says so
    store.submit(b).wait(10)
    # Lose the derived rows, and damage the static fields of a worker row.
    b = store.batch()
    for k in keys:
        if k != "key-done":  # that one is left stale instead
            b.delete("keys", k)
    b.delete("workers", w2)
    b.put("workers", a, msgspec.structs.replace(store.get("workers", a), template_version=0, args=[]))
    store.submit(b).wait(10)

    store.rebuild_indexes()

    for k, row in keys.items():
        assert store.get("keys", k) == row
        assert store.get("worker_keys", f"t1/a/{k}") is True  # what deleting the worker looks up
    assert store.get("keys", "key-unused").state == "created"  # no log knows it: kept
    assert dict(store.scan("promises")) == promises
    assert store.get("workers", a) == WorkerRecord(
        template_id="t1", worker_name="a", template_version=3, account_id="acc",
        args=["--x"], env=[("K", "V")], created_at=111, status="Suspended", retry_count=2,
        last_error="trap",
    )
    assert store.get("workers", w2) == WorkerRecord(
        template_id="t2", worker_name="b", template_version=0, account_id="acc",
        args=[], env=[], created_at=222,
    )


def test_rebuild_from_nothing_but_logs(store):
    build(store)
    keys, promises = expected_rows()
    b = store.batch()
    for table in ("keys", "promises", "workers"):
        for k, _ in store.scan(table):
            b.delete(table, k)
    store.submit(b).wait(10)
    assert store.scan("keys") == store.scan("promises") == store.scan("workers") == []
    store.rebuild_indexes()
    assert dict(store.scan("keys")) == keys
    assert dict(store.scan("promises")) == promises
    assert [k for k, _ in store.scan("workers")] == ["t1/a", "t2/b"]
    assert store.get("workers", "t1/a").status == "Idle"


def test_a_completion_before_any_invocation_completes_nothing():
    entries = [
        (1, create_entry("t/w")),
        (2, ExportedFunctionCompleted(result=1)),
        (3, ExportedFunctionInvoked(function="f", params=[], invocation_key="k")),
        (4, ExportedFunctionInvoked(function="f", params=[], invocation_key="k2")),
        (5, ExportedFunctionCompleted(result=2)),
        (6, CompletePromise(promise_idx=99, data=b"")),  # no such promise: ignored
    ]
    derived = derive_indexes("t/w", entries)
    assert derived.keys["k"].state == "pending"
    assert derived.keys["k2"] == InvocationKeyRecord(template_id="t", worker_name="w", state="complete", completed_idx=5)
    assert derived.promises == {}
