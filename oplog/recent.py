"""The recent table: where appends to existing logs land first.

Why it exists: each worker's log is a key range of its own, so a commit that
appends one entry to each of 64 logs dirties, writes and fsyncs 64 leaf pages
for a few KB of entries. Appends instead go into one table under a global
sequence number, where one commit's entries share a page or two. Once the
table holds `limit` entries, one commit moves them all into their logs'
ranges, each log's entries as one run row (see runs.py), so that the move
costs one put per log rather than one per entry.

In every snapshot each entry is in exactly one place, its log's range or this
table, and reads merge both. The writer also keeps the table's committed
entries in memory, grouped per log and tagged with the id of the transaction
that made them so: a reader whose snapshot has that id takes them from there;
one whose snapshot is older or newer (it began just before the writer caught
up) scans the table instead, which is always right and cheap, as the table
stays small.

Key: sequence number, 8 bytes big endian. Value: the entry's key in the log
table (log prefix + index), then the stored entry.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Sequence

from .batch import INDEX_WIDTH
from .runs import encode_run

RECENT_DB = "recent"
# Larger entries go straight to their log's range: they fill overflow pages of
# their own anyway, and in the table they would be written twice.
RECENT_MAX_VALUE = 2048
_pack_seq = struct.Struct(">Q").pack  # 8 bytes big endian

# Per worker key: the table values of its log (log key + stored entry), in
# the order they were added.
Logs = dict[str, list[bytes]]


def _indexed(values: Sequence[bytes], prefix: bytes, start: int) -> list[tuple[int, bytes]]:
    """(index, stored entry) of one log's table values from index `start` on, by index."""
    cut = len(prefix) + INDEX_WIDTH
    out = [(int.from_bytes(v[len(prefix) : cut], "big"), v[cut:]) for v in values]
    out.sort(key=lambda pair: pair[0])
    return [pair for pair in out if pair[0] >= start] if start > 1 else out


def _worker_key(value: bytes) -> str:
    return value[: value.index(b"\0")].decode()


class RecentIndex:
    """The committed entries of the recent table, shared by readers and the writer."""

    def __init__(self, env, db, limit: int) -> None:
        self.db = db
        self.limit = max(1, limit)
        self._env = env
        self._lock = threading.Lock()
        self._logs: Logs = {}
        self.count = 0
        self.next_seq = 0
        with env.begin(db=db) as txn:
            for seq, value in txn.cursor():
                self._logs.setdefault(_worker_key(value), []).append(value)
                self.count += 1
                self.next_seq = int.from_bytes(seq, "big") + 1
        self._version = self._last_txnid()

    def _last_txnid(self) -> int:
        """The id of the last committed transaction, as a new snapshot shows it.

        Read from a read transaction: env.info() gives it too, but hands the GIL on and
        waits to get it back (twice), which under load costs the writer a context
        switch per commit.
        """
        txn = self._env.begin()
        try:
            return txn.id()
        finally:
            txn.abort()

    # -- readers (any thread, with their own read transaction) ---------------

    def entries(self, txn, prefix: bytes, start: int = 1) -> list[tuple[int, bytes]]:
        """(index, stored entry) of the log's entries in this table as of `txn`, by index."""
        with self._lock:
            values = self._logs.get(prefix[:-1].decode(), ())[:] if self._version == txn.id() else None
        if values is None:
            values = [v for v in txn.cursor(db=self.db).iternext(keys=False) if v.startswith(prefix)]
        return _indexed(values, prefix, start)

    def last_index(self, txn, prefix: bytes) -> int:
        """The highest index of the log in this table as of `txn`; 0 if none."""
        found = self.entries(txn, prefix)
        return found[-1][0] if found else 0

    # -- the writer ------------------------------------------------------------

    def last_index_now(self, prefix: bytes) -> int:
        """Writer thread, between rounds: the highest index of the log in the table."""
        values = self._logs.get(prefix[:-1].decode())
        return _indexed(values, prefix, 1)[-1][0] if values else 0

    def begin(self) -> RecentWrites:
        """Writer thread: track one write transaction's changes to the table."""
        return RecentWrites(self)

    def commit(self, writes: RecentWrites) -> None:
        """Writer thread, after the transaction committed: make the index show it."""
        version = self._last_txnid()
        with self._lock:
            logs = self._logs
            if writes.cleared:
                logs = self._logs = {}
            for wk in writes.dropped:
                logs.pop(wk, None)
            for wk, values in writes.logs.items():
                known = logs.get(wk)
                if known is None:
                    logs[wk] = values
                else:
                    known += values
            self.count = writes.count()
            self.next_seq = writes.next_seq
            self._version = version


class RecentWrites:
    """One write transaction's changes to the recent table, applied to the index after commit."""

    __slots__ = ("_rows", "cleared", "deleted", "dropped", "index", "logs", "migrated", "next_seq")

    def __init__(self, index: RecentIndex) -> None:
        self.index = index
        self._rows: list[tuple[bytes, bytes]] = []  # queued for the next put
        self.logs: Logs = {}  # added in this transaction
        self.dropped: set[str] = set()
        self.deleted = 0
        self.cleared = False
        self.next_seq = index.next_seq
        self.migrated = 0

    def add(self, worker_key: str, key: bytes, entry: bytes) -> None:
        """Queue the append of a stored entry under log key `key` (written by `put`)."""
        value = key + entry
        seq = self.next_seq
        self.next_seq = seq + 1
        self._rows.append((_pack_seq(seq), value))
        values = self.logs.get(worker_key)
        if values is None:
            self.logs[worker_key] = [value]
        else:
            values.append(value)

    def count(self) -> int:
        """How many entries the table holds with this transaction's changes."""
        if self.cleared:
            return 0
        return self.index.count + (self.next_seq - self.index.next_seq) - self.deleted

    def put(self, txn) -> None:
        """Write the queued rows (sequence keys only grow: each goes at the end)."""
        if self._rows:
            txn.cursor(db=self.index.db).putmulti(self._rows, append=True)
            self._rows = []

    def drop_log(self, txn, worker_key: str, prefix: bytes) -> None:
        """Delete the log's entries from the table (its log is being deleted). Call after `put`."""
        self.logs.pop(worker_key, None)
        self.dropped.add(worker_key)
        db = self.index.db
        doomed = [seq for seq, value in txn.cursor(db=db) if value.startswith(prefix)]
        for seq in doomed:
            txn.delete(seq, db=db)
        self.deleted += len(doomed)

    def migrate_if_full(self, txn, log_db) -> None:
        """Once the table holds `limit` entries, move them all into their logs' ranges. Call after `put`."""
        if self.count() < self.index.limit:
            return
        logs: Logs = {wk: values for wk, values in self.index._logs.items() if wk not in self.dropped}
        for wk, values in self.logs.items():
            logs[wk] = logs.get(wk, []) + values
        rows = []
        for wk, values in logs.items():
            # A table value starts with its log key: sorting values sorts by index.
            rows += encode_run(len(wk) + 1, sorted(values))
        txn.cursor(db=log_db).putmulti(rows)
        txn.drop(self.index.db, delete=False)
        self.migrated = self.count()
        self.cleared = True
        self.logs = {}
        self.dropped.clear()
