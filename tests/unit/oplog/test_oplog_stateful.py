"""A stateful test of the store against a pure-Python model of logs and tables.

Rules build batches (creations, appends, deletions, row writes, interleaved and
discarded batches), submit them with or without waiting, and close and reopen
the store; after every step the invariant flushes and compares every read
against the model.
"""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

import pytest
from _oplog_helpers import any_entry, create_entry, payloads, stale_recent_index
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from oplog import Entry, InvocationKeyRecord, NoOp, OplogError, OplogStore, WorkerExists

WORKERS = ["t1/a", "t1/b", "t2/a"]
ROW_KEYS = ["k1", "k2", "k3/x", "k3/y"]
TABLES = ["meta", "keys"]
# Stands for a NoOp the store wrote itself (its timestamp is the store's).
FILLED = object()

workers = st.sampled_from(WORKERS)
entry_lists = st.lists(any_entry, min_size=1, max_size=3)
key_rows = st.builds(
    InvocationKeyRecord,
    template_id=st.sampled_from(["t1", "t2"]),
    worker_name=st.sampled_from(["a", "b"]),
    state=st.sampled_from(["created", "pending", "complete"]),
    completed_idx=st.none() | st.integers(1, 100),
)


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="oplog-state-")
        self.recent_limit = 2048
        self.store = OplogStore(self.dir)
        self.logs: dict[str, list[Any]] = {}
        self.rows: dict[str, dict[str, Any]] = {t: {} for t in TABLES}
        self.unwaited: list = []

    def teardown(self) -> None:
        try:
            self.store.close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- rules ----------------------------------------------------------------

    @initialize(limit=st.sampled_from([1, 4, 2048]))
    def recent_table_size(self, limit: int) -> None:
        """How many appends the recent table takes before they move into their logs."""
        self.store.close()
        self.recent_limit = limit
        self.store = OplogStore(self.dir, recent_limit=limit)

    @rule(wk=workers, extra=st.lists(any_entry, max_size=2))
    def create_log(self, wk: str, extra: list[Entry]) -> None:
        b = self.store.batch()
        b.create_log(wk)
        entries = [create_entry(wk), *extra]
        got = [b.append(wk, e) for e in entries]
        assert got == list(range(1, len(entries) + 1))
        if wk in self.logs:
            with pytest.raises(WorkerExists):
                self.store.submit(b)
            return
        self.unwaited.append(self.store.submit(b))
        self.logs[wk] = entries

    @rule(wk=workers, entries=entry_lists, wait=st.booleans())
    def append(self, wk: str, entries: list[Entry], wait: bool) -> None:
        b = self.store.batch()
        if wk not in self.logs:
            with pytest.raises(OplogError):
                b.append(wk, entries[0])
            return
        for e in entries:
            assert b.append(wk, e) == len(self.logs[wk]) + 1
            self.logs[wk].append(e)
        assert self.store.last_index(wk) == len(self.logs[wk])
        c = self.store.submit(b)
        if wait:
            c.wait(10)
        else:
            self.unwaited.append(c)

    @precondition(lambda self: self.logs)
    @rule(data=st.data(), first=entry_lists, second=entry_lists)
    def interleaved(self, data, first: list[Entry], second: list[Entry]) -> None:
        """Two batches take turns appending to one log; the later one is submitted first."""
        wk = data.draw(st.sampled_from(sorted(self.logs)))
        a, b = self.store.batch(), self.store.batch()
        for i in range(max(len(first), len(second))):
            for batch, entries in ((a, first), (b, second)):
                if i < len(entries):
                    assert batch.append(wk, entries[i]) == len(self.logs[wk]) + 1
                    self.logs[wk].append(entries[i])
        cb = self.store.submit(b)
        ca = self.store.submit(a)
        self.unwaited += [cb, ca]

    @precondition(lambda self: self.logs)
    @rule(data=st.data(), entries=entry_lists)
    def discarded(self, data, entries: list[Entry]) -> None:
        wk = data.draw(st.sampled_from(sorted(self.logs)))
        b = self.store.batch()
        for e in entries:
            b.append(wk, e)
            self.logs[wk].append(FILLED)
        b.discard()

    @rule(wk=workers)
    def forget(self, wk: str) -> None:
        """The store is asked to drop a log's state at any moment, batches in flight or not."""
        self.store.forget_log(wk)

    @precondition(lambda self: self.logs)
    @rule(data=st.data(), entries=entry_lists, replace=st.booleans())
    def held_while_forgetting(self, data, entries: list[Entry], replace: bool) -> None:
        """A batch holds indexes of a log while the store is asked to forget it, and maybe
        the log is deleted and made anew meanwhile: the held batch must then still be refused."""
        wk = data.draw(st.sampled_from(sorted(self.logs)))
        held = self.store.batch()
        for e in entries:
            assert held.append(wk, e) == len(self.logs[wk]) + 1
            self.logs[wk].append(e)
        assert not self.store.forget_log(wk), "a log with an index handed out is not settled"
        if not replace:
            self.unwaited.append(self.store.submit(held))
            return
        d = self.store.batch()
        d.delete_log(wk)
        d.create_log(wk)
        entry = create_entry(wk, timestamp=3)
        d.append(wk, entry)
        self.store.submit(d).wait(10)
        self.logs[wk] = [entry]
        self.store.forget_log(wk)
        with pytest.raises(OplogError):
            self.store.submit(held)

    @rule(wk=workers, recreate=st.booleans())
    def delete_log(self, wk: str, recreate: bool) -> None:
        b = self.store.batch()
        b.delete_log(wk)
        self.logs.pop(wk, None)
        if recreate:
            b.create_log(wk)
            entry = create_entry(wk, timestamp=2)
            assert b.append(wk, entry) == 1
            self.logs[wk] = [entry]
        self.unwaited.append(self.store.submit(b))

    @rule(key=st.sampled_from(ROW_KEYS), value=payloads)
    def put_meta(self, key: str, value: Any) -> None:
        self._put("meta", key, value)

    @rule(key=st.sampled_from(ROW_KEYS), value=key_rows)
    def put_key_row(self, key: str, value: InvocationKeyRecord) -> None:
        self._put("keys", key, value)

    @rule(table=st.sampled_from(TABLES), key=st.sampled_from(ROW_KEYS))
    def delete_row(self, table: str, key: str) -> None:
        b = self.store.batch()
        b.delete(table, key)
        self.rows[table].pop(key, None)
        self.unwaited.append(self.store.submit(b))

    @rule()
    def commit_and_wait(self) -> None:
        for c in self.unwaited:
            c.wait(10)
        self.unwaited.clear()

    @rule()
    def reopen(self) -> None:
        self.store.close()
        assert all(c.done() for c in self.unwaited)
        for c in self.unwaited:
            c.wait(0)
        self.unwaited.clear()
        self.store = OplogStore(self.dir, recent_limit=self.recent_limit)

    def _put(self, table: str, key: str, value: Any) -> None:
        b = self.store.batch()
        b.put(table, key, value)
        self.rows[table][key] = value
        self.unwaited.append(self.store.submit(b))

    # -- invariant --------------------------------------------------------------

    @invariant()
    def store_matches_model(self) -> None:
        self.store.flush(10)
        assert self.store.list_logs() == sorted(self.logs)
        for wk in WORKERS:
            model = self.logs.get(wk, [])
            got = self.store.read(wk)
            assert [i for i, _ in got] == list(range(1, len(model) + 1))
            for (_, entry), expected in zip(got, model, strict=True):
                if expected is FILLED:
                    assert type(entry) is NoOp
                else:
                    assert entry == expected
            assert self.store.last_index(wk) == len(model)
            assert self.store.committed_last_index(wk) == len(model)
            assert self.store.log_exists(wk) == (wk in self.logs)
            if len(model) > 1:
                assert [i for i, _ in self.store.read(wk, 2, 1)] == [2]
            # Readers whose snapshot the recent table's index does not match
            # scan the table instead, and must see the same log.
            raw = self.store.read_raw(wk)
            with stale_recent_index(self.store):
                assert self.store.read_raw(wk) == raw
                assert self.store.committed_last_index(wk) == len(model)
        for table, rows in self.rows.items():
            assert self.store.scan(table) == sorted(rows.items())
            assert self.store.scan(table, prefix="k3/") == sorted(
                (k, v) for k, v in rows.items() if k.startswith("k3/")
            )
            for key in ROW_KEYS:
                assert self.store.get(table, key) == rows.get(key)


StoreMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
test_store_against_model = StoreMachine.TestCase
