"""The recent table: appends to existing logs land there under a global
sequence and move into their logs' ranges in bulk; reads see one log either way."""

from __future__ import annotations

import pytest
from _oplog_helpers import new_log, stale_recent_index
from hypothesis import given
from hypothesis import strategies as st

from oplog import CorruptEntry, ImportedFunctionInvoked, NoOp, OplogStore
from oplog.runs import encode_run, expand

LOGS = ["t/a", "t/b", "t/c"]


def _recent_rows(store: OplogStore) -> int:
    with store._env.begin(db=store._dbs["recent"]) as txn:
        return txn.stat(store._dbs["recent"])["entries"]


def _append_round(store: OplogStore, stamp: int) -> None:
    """One entry to each log, in one batch (so in one commit, as a burst of guest calls)."""
    b = store.batch()
    for wk in LOGS:
        b.append(wk, NoOp(timestamp=stamp))
    store.submit(b).wait(10)


def _stamps(store: OplogStore, wk: str) -> list[int]:
    entries = store.read(wk)
    assert [i for i, _ in entries] == list(range(1, len(entries) + 1))
    return [e.timestamp for _, e in entries[1:]]


def test_appends_wait_in_the_recent_table_then_move_together(tmp_path):
    with OplogStore(tmp_path / "db", recent_limit=7) as store:
        for wk in LOGS:
            new_log(store, wk)  # a creating batch writes its log's range directly
        assert _recent_rows(store) == 0
        _append_round(store, 1)
        _append_round(store, 2)
        assert _recent_rows(store) == 6
        assert store.stats["migrations"] == 0
        assert all(_stamps(store, wk) == [1, 2] for wk in LOGS)
        assert store.committed_last_index("t/b") == 3
        _append_round(store, 3)  # the 7th row reaches the limit: all nine move in that commit
        assert _recent_rows(store) == 0
        assert store.stats["migrations"] == 1
        assert all(_stamps(store, wk) == [1, 2, 3] for wk in LOGS)
        _append_round(store, 4)
        assert _recent_rows(store) == 3
        assert all(_stamps(store, wk) == [1, 2, 3, 4] for wk in LOGS)
        assert store.read("t/c", 4, 1)[0][1] == NoOp(timestamp=3)  # across the two places
        assert [i for i, _ in store.read("t/c", 4)] == [4, 5]


def test_a_reopened_store_finds_its_recent_appends(tmp_path):
    path = tmp_path / "db"
    with OplogStore(path) as store:
        for wk in LOGS:
            new_log(store, wk)
        _append_round(store, 1)
        _append_round(store, 2)
    with OplogStore(path) as store:
        assert _recent_rows(store) == 6
        assert [store.last_index(wk) for wk in LOGS] == [3, 3, 3]
        _append_round(store, 3)  # indexes go on from the recent table's
        assert all(_stamps(store, wk) == [1, 2, 3] for wk in LOGS)


def test_deleting_a_log_removes_its_recent_appends(tmp_path):
    with OplogStore(tmp_path / "db", recent_limit=100) as store:
        for wk in LOGS:
            new_log(store, wk)
        _append_round(store, 1)
        _append_round(store, 2)
        b = store.batch()
        b.delete_log("t/a")
        store.submit(b).wait(10)
        assert _recent_rows(store) == 4
        assert store.read("t/a") == []
        new_log(store, "t/a")
        b = store.batch()
        b.append("t/a", NoOp(timestamp=9))
        store.submit(b).wait(10)
        assert _stamps(store, "t/a") == [9]
        assert _stamps(store, "t/b") == [1, 2]


def test_a_snapshot_from_before_a_move_still_reads_the_whole_log(tmp_path):
    with OplogStore(tmp_path / "db", recent_limit=6) as store:
        for wk in LOGS:
            new_log(store, wk)
        _append_round(store, 1)
        txn = store._begin_read()
        try:
            _append_round(store, 2)  # moves everything out of the recent table
            assert _recent_rows(store) == 0
            # The old snapshot still has round 1 in the recent table, which
            # the index no longer lists: the reader must find it by scanning.
            assert store._last_index_in(txn, b"t/a\0") == 2
            assert [i for i, _ in store._recent.entries(txn, b"t/a\0")] == [2]
        finally:
            store._end_read(txn)
        assert _stamps(store, "t/a") == [1, 2]


def test_the_scan_and_the_index_agree(tmp_path):
    with OplogStore(tmp_path / "db") as store:
        for wk in LOGS:
            new_log(store, wk)
        for stamp in range(5):
            _append_round(store, stamp)
        by_index = [store.read_raw(wk, 3) for wk in LOGS]
        with stale_recent_index(store):
            assert [store.read_raw(wk, 3) for wk in LOGS] == by_index
            assert store.committed_last_index("t/c") == 6
        assert [len(r) for r in by_index] == [4, 4, 4]


@given(st.lists(st.integers(1, 60), unique=True, max_size=40))
def test_runs_keep_every_entry_of_any_index_set(indexes):
    prefix = b"t/a\0"
    values = sorted(prefix + i.to_bytes(8, "big") + b"\x01entry%d" % i for i in indexes)
    rows = encode_run(len(prefix), values)
    assert [key for key, _v in rows] == sorted(key for key, _v in rows)  # one row per stretch, in order
    got = [pair for key, value in rows for pair in expand(key, value)]
    assert got == [(i, b"\x01entry%d" % i) for i in sorted(indexes)]


def test_a_run_that_does_not_end_at_its_key_is_refused():
    (key, value), = encode_run(4, [b"t/a\0" + i.to_bytes(8, "big") + b"\x01" for i in (1, 2)])
    with pytest.raises(CorruptEntry):
        expand(key[:-8] + (3).to_bytes(8, "big"), value)
    with pytest.raises(CorruptEntry):
        expand(key, value[:-1])


def test_a_large_entry_goes_straight_to_its_log_and_the_move_keeps_the_order(tmp_path):
    big = ImportedFunctionInvoked(timestamp=2, function="f", response="x" * 5000, kind="read-local")
    with OplogStore(tmp_path / "db", recent_limit=6) as store:
        new_log(store, "t/a")
        for entry in (NoOp(timestamp=1), big, NoOp(timestamp=3), NoOp(timestamp=4)):
            b = store.batch()
            b.append("t/a", entry)
            store.submit(b).wait(10)
        assert _recent_rows(store) == 3  # the large one is in the log's own range already
        expected = [NoOp(timestamp=1), big, NoOp(timestamp=3), NoOp(timestamp=4)]
        assert [e for _, e in store.read("t/a")][1:] == expected
        assert [i for i, _ in store.read("t/a", 3, 2)] == [3, 4]
        for stamp in (5, 6, 7):  # reach the limit: the stretches around index 3 move as two rows
            b = store.batch()
            b.append("t/a", NoOp(timestamp=stamp))
            store.submit(b).wait(10)
        assert _recent_rows(store) == 0 and store.stats["migrations"] == 1
        assert [e for _, e in store.read("t/a")][1:] == [*expected, *(NoOp(timestamp=s) for s in (5, 6, 7))]
        assert [i for i, _ in store.read("t/a", 2, 3)] == [2, 3, 4]
        assert store.committed_last_index("t/a") == 8
