"""Indexes handed out before submission: logs stay gap-free and in index order."""

from __future__ import annotations

import gc
import threading

import pytest
from _oplog_helpers import create_entry, new_log

from oplog import NoOp, OplogError, WorkerExists
from oplog.entries import ImportedFunctionInvoked


def call(n: int) -> ImportedFunctionInvoked:
    return ImportedFunctionInvoked(timestamp=n, function="f", response=n, kind="read-local")


def indexes(store, key: str) -> list[int]:
    return [i for i, _ in store.read(key)]


def test_a_later_index_waits_for_an_earlier_unsubmitted_one(store):
    new_log(store, "t/w")
    early = store.batch()
    assert early.append("t/w", call(2)) == 2
    late = store.batch()
    assert late.append("t/w", call(3)) == 3
    late.put("meta", "late", 1)
    c_late = store.submit(late)
    with pytest.raises(TimeoutError):
        c_late.wait(0.2)
    # Nothing after the hole is durable, and unrelated work is not held up.
    assert indexes(store, "t/w") == [1]
    assert store.get("meta", "late") is None
    other = store.batch()
    other.put("meta", "other", 1)
    store.submit(other).wait(10)
    assert store.last_index("t/w") == 3 and store.committed_last_index("t/w") == 1

    c_early = store.submit(early)
    c_late.wait(10)
    c_early.wait(10)
    assert store.read("t/w")[1:] == [(2, call(2)), (3, call(3))]
    assert store.get("meta", "late") == 1


def test_a_row_written_after_a_waiting_batch_waits_too(store):
    new_log(store, "t/w")
    early = store.batch()
    early.append("t/w", call(2))
    late = store.batch()
    late.append("t/w", call(3))
    late.put("meta", "status", "first")
    c_late = store.submit(late)
    after = store.batch()
    after.put("meta", "status", "second")
    c_after = store.submit(after)
    with pytest.raises(TimeoutError):
        c_after.wait(0.2)  # must not overtake `late` on the same row
    store.submit(early)
    c_after.wait(10)
    c_late.wait(10)
    assert store.get("meta", "status") == "second"


def test_interleaved_indexes_in_two_batches_commit_together(store):
    new_log(store, "t/w")
    a = store.batch()
    b = store.batch()
    assert a.append("t/w", call(2)) == 2
    assert b.append("t/w", call(3)) == 3
    assert a.append("t/w", call(4)) == 4
    ca = store.submit(a)
    with pytest.raises(TimeoutError):
        ca.wait(0.2)  # 4 cannot commit without 3
    cb = store.submit(b)
    ca.wait(10)
    cb.wait(10)
    assert indexes(store, "t/w") == [1, 2, 3, 4]


def test_crossed_batches_on_two_workers_do_not_deadlock(store):
    new_log(store, "t/a")
    new_log(store, "t/b")
    x = store.batch()
    y = store.batch()
    x.append("t/a", call(2))  # a:2 in x
    y.append("t/a", call(3))  # a:3 in y
    y.append("t/b", call(2))  # b:2 in y
    x.append("t/b", call(3))  # b:3 in x
    x.put("meta", "row", "x")
    y.put("meta", "row", "y")
    cy = store.submit(y)
    cx = store.submit(x)
    cx.wait(10)
    cy.wait(10)
    assert indexes(store, "t/a") == [1, 2, 3]
    assert indexes(store, "t/b") == [1, 2, 3]
    assert store.get("meta", "row") == "x"  # submission order decides


def test_a_dropped_batch_becomes_noops(store):
    new_log(store, "t/w")
    dropped = store.batch()
    dropped.append("t/w", call(2))
    dropped.append("t/w", call(3))
    late = store.batch()
    late.append("t/w", call(4))
    c = store.submit(late)
    del dropped
    gc.collect()
    c.wait(10)
    assert store.read("t/w")[1:] == [
        (2, NoOp(timestamp=store.read("t/w", 2, 1)[0][1].timestamp)),
        (3, NoOp(timestamp=store.read("t/w", 3, 1)[0][1].timestamp)),
        (4, call(4)),
    ]
    assert store.stats["filled_indexes"] == 2


def test_discard_fills_at_once(store):
    new_log(store, "t/w")
    b = store.batch()
    b.append("t/w", call(2))
    b.discard()
    b.discard()  # idempotent
    with pytest.raises(OplogError):
        store.submit(b)
    store.flush(10)
    (idx, entry), = store.read("t/w", 2)
    assert idx == 2 and isinstance(entry, NoOp)


def test_a_failed_submit_fills_its_indexes(store):
    new_log(store, "t/w")
    new_log(store, "t/other")
    b = store.batch()
    b.append("t/w", call(2))
    b.create_log("t/other")  # exists: the whole batch is refused
    with pytest.raises(WorkerExists):
        store.submit(b)
    nxt = store.batch()
    assert nxt.append("t/w", call(3)) == 3
    store.submit(nxt).wait(10)
    assert isinstance(store.read("t/w", 2, 1)[0][1], NoOp)
    assert store.read("t/w", 3) == [(3, call(3))]


def test_appends_held_across_a_deletion_are_refused(store):
    new_log(store, "t/w")
    held = store.batch()
    held.append("t/w", call(2))
    held.put("meta", "held", 1)
    d = store.batch()
    d.delete_log("t/w")
    store.submit(d).wait(10)
    with pytest.raises(OplogError, match="deleted"):
        store.submit(held)
    new_log(store, "t/w")
    assert indexes(store, "t/w") == [1]
    assert store.get("meta", "held") is None
    store.flush(10)
    assert indexes(store, "t/w") == [1]  # no NoOp leaked into the new log


def test_submitted_appends_before_a_deletion_are_deleted_with_the_log(store):
    new_log(store, "t/w")
    gap = store.batch()
    gap.append("t/w", call(2))
    waiting = store.batch()
    waiting.append("t/w", call(3))
    waiting.put("meta", "waiting", 1)
    c_wait = store.submit(waiting)  # waits for index 2
    d = store.batch()
    d.delete_log("t/w")
    c_del = store.submit(d)
    c_del.wait(10)
    c_wait.wait(10)  # its entry died with the log; the rest of the batch committed
    assert store.get("meta", "waiting") == 1
    assert store.read("t/w") == []
    with pytest.raises(OplogError):
        store.submit(gap)
    new_log(store, "t/w")
    b = store.batch()
    assert b.append("t/w", call(2)) == 2
    store.submit(b).wait(10)
    assert indexes(store, "t/w") == [1, 2]


def test_deleting_a_log_releases_batches_waiting_on_its_holes(store):
    new_log(store, "t/w")
    gap = store.batch()
    gap.append("t/w", call(2))
    waiting = store.batch()
    waiting.append("t/w", call(3))
    waiting.put("meta", "k", 1)
    c_wait = store.submit(waiting)
    d = store.batch()
    d.put("meta", "k", 2)  # same row: ordered after `waiting`
    d.delete_log("t/w")
    c_del = store.submit(d)
    r = store.batch()
    r.create_log("t/w")
    r.append("t/w", create_entry("t/w", timestamp=7))
    c_re = store.submit(r)
    # The hole at 2 belongs to a log that is deleted anyway: nobody waits for it.
    for c in (c_wait, c_del, c_re):
        c.wait(10)
    assert store.read("t/w") == [(1, create_entry("t/w", timestamp=7))]
    assert store.get("meta", "k") == 2
    gap.discard()
    store.flush(10)
    assert store.read("t/w") == [(1, create_entry("t/w", timestamp=7))]


def test_recreated_log_waits_for_a_waiting_deletion(store):
    new_log(store, "t/w")
    new_log(store, "t/x")
    gap = store.batch()
    gap.append("t/x", call(2))
    waiting = store.batch()
    waiting.append("t/x", call(3))  # waits for x:2
    waiting.put("meta", "k", 1)
    c_wait = store.submit(waiting)
    d = store.batch()
    d.put("meta", "k", 2)  # same row: waits behind `waiting`
    d.delete_log("t/w")
    c_del = store.submit(d)
    r = store.batch()
    r.create_log("t/w")
    r.append("t/w", create_entry("t/w", timestamp=7))
    c_re = store.submit(r)
    with pytest.raises(TimeoutError):
        c_re.wait(0.2)  # must not be created before the old log is deleted
    assert store.read("t/w") == [(1, create_entry("t/w"))]
    gap.discard()
    for c in (c_wait, c_del, c_re):
        c.wait(10)
    assert store.read("t/w") == [(1, create_entry("t/w", timestamp=7))]
    assert [i for i, _ in store.read("t/x")] == [1, 2, 3]
    assert store.get("meta", "k") == 2


def test_many_threads_sharing_workers_keep_every_log_contiguous(store):
    keys = [f"t/w{i}" for i in range(4)]
    for k in keys:
        new_log(store, k)
    errors: list[BaseException] = []

    def run(seed: int) -> None:
        try:
            for n in range(60):
                b = store.batch()
                for j in range(1 + (seed + n) % 3):
                    b.append(keys[(seed + n + j) % 4], call(n))
                if (seed + n) % 7 == 0:
                    b.discard()
                    continue
                c = store.submit(b)
                if n % 5 == 0:
                    c.wait(30)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    ts = [threading.Thread(target=run, args=(s,)) for s in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    store.flush(30)
    assert errors == []
    for k in keys:
        got = indexes(store, k)
        assert got == list(range(1, len(got) + 1))
        assert got[-1] == store.last_index(k)


def test_close_fails_batches_still_waiting_for_a_hole(tmp_path):
    from oplog import OplogStore, StoreClosed

    s = OplogStore(tmp_path / "db")
    new_log(s, "t/w")
    held = s.batch()
    held.append("t/w", call(2))
    late = s.batch()
    late.append("t/w", call(3))
    c = s.submit(late)
    s.close()
    with pytest.raises(StoreClosed):
        c.wait(1)
    s = OplogStore(tmp_path / "db")
    try:
        assert indexes(s, "t/w") == [1]
    finally:
        s.close()
    held.discard()
