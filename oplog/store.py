"""OplogStore: every worker's log and the index tables in one LMDB environment.

Writes go through batches handed to one writer thread (see writer.py), which
owns every write transaction as py-lmdb requires. Reads never wait for the
writer: each is a plain LMDB read transaction and sees committed data only.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from enum import Enum
from pathlib import Path
from typing import Any, Callable

import lmdb
import structlog

from .batch import INDEX_WIDTH, Batch, log_prefix
from .commit import Commit
from .entries import Entry, decode_entry
from .errors import OplogError, StoreClosed, WorkerExists, WriterFailed
from .indexes import derive_indexes
from .recent import RECENT_DB, RecentIndex
from .runs import RUN_TAG, expand
from .records import TABLE_TYPES, decode_record
from .scheduling import DEFAULT as DEFAULT_THREAD_POLICY, check_policy
from .tables import OPLOG_DB, Table, worker_keys_key
from .writer import POLL_S, Held, Writer

log = structlog.get_logger(__name__)

_BLOBS = Table.BLOBS.value
_MAX_DBS = 16
# Reads run on caller threads (event loop, guest threads, API): leave room.
_MAX_READERS = 1024
# The "meta" flag set once every invocation key has its "worker_keys" row.
WORKER_KEYS_INDEXED = "worker_keys_indexed"
# Group-commit gathering (see OplogStore._take).
GATHER_GAP_S = 0.0005
GATHER_MAX_S = 0.002


class Durability(str, Enum):
    """How hard a commit pushes data to disk.

    - ``sync``: fsync data and metadata on every commit (crash-safe; the default).
    - ``meta``: fsync data but not the meta page: after an OS crash or power
      loss the last commits may be lost, but the database stays consistent.
    - ``none``: no fsync at all. NOT crash-safe: an OS crash or power loss may
      lose any amount of recent data. For benchmarks only.

    Killing the process (even with SIGKILL) loses nothing in any mode: LMDB
    has handed committed pages to the OS before commit returns.
    """

    SYNC = "sync"
    META = "meta"
    NONE = "none"


class _LogState:
    """The store's view of one log: committed plus submitted plus handed-out indexes."""

    __slots__ = ("exists", "gen", "last", "prefix")

    def __init__(self, prefix: bytes, last: int, exists: bool) -> None:
        self.prefix = prefix
        self.last = last  # last index handed out
        self.exists = exists
        self.gen = 0  # deletions submitted since the store opened


class OplogStore:
    """Durable per-worker logs and index tables, with a group-commit writer thread."""

    def __init__(
        self,
        path: str | Path,
        *,
        durability: Durability | str = "sync",
        map_size: int = 256 << 20,
        max_queued_batches: int = 4096,
        max_batches_per_commit: int = 1024,
        recent_limit: int = 2048,
        thread_policy: str = DEFAULT_THREAD_POLICY,
    ) -> None:
        self.durability = Durability(durability)
        check_policy(thread_policy)
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._env = lmdb.open(
            str(self.path),
            map_size=map_size,
            subdir=True,
            max_dbs=_MAX_DBS,
            max_readers=_MAX_READERS,
            sync=self.durability is not Durability.NONE,
            metasync=self.durability is Durability.SYNC,
            lock=True,
        )
        names = [OPLOG_DB, RECENT_DB, *[t.value for t in Table]]
        self._dbs = {name: self._env.open_db(name.encode()) for name in names}
        self._oplog_db = self._dbs[OPLOG_DB]
        # Appends to existing logs land here first (see recent.py).
        self._recent = RecentIndex(self._env, self._dbs[RECENT_DB], recent_limit)

        self._lock = threading.Lock()
        self._space = threading.Condition(self._lock)
        self._flushed = threading.Condition(self._lock)
        self._states: dict[str, _LogState] = {}
        # Submitted batches not yet taken by the writer, in submission order.
        self._pending: list[Batch] = []
        self._arrived = threading.Condition(self._lock)
        # The writer is woken only when len(_pending) reaches this (0: never).
        self._want = 0
        self._max_queued = max(1, max_queued_batches)
        # Indexes to fill with NoOp; a SimpleQueue because Batch.__del__ may
        # put here at any moment, even while this thread holds self._lock.
        self._fills: queue.SimpleQueue = queue.SimpleQueue()
        # Tickets of queued fills, so flush() can wait for them too.
        self._fill_tickets = itertools.count(1)
        self._fills_issued = 0
        self._fills_done = 0
        self._seq = 0
        self._done_seq = 0
        self._max_dequeued = 0
        self._max_ticket = 0
        self._closing = False
        self._failed: BaseException | None = None

        # Readers register here so the writer can wait until none is inside
        # (see _abort_write).
        self._gate = threading.Condition(threading.Lock())
        self._readers = 0
        self._paused = False
        self._closed = False

        self.stats: dict[str, int] = {
            "commits": 0,
            "batches": 0,
            "entries": 0,
            "bytes": 0,
            "map_resizes": 0,
            "filled_indexes": 0,
            "migrations": 0,
        }
        # Writer thread only: opens each write transaction. An attribute rather than a
        # method so fault-injection tests can replace it on a compiled store too.
        self._begin_write: Callable[[], lmdb.Transaction] = self._new_write_txn
        self._writer = Writer(self, max_batches_per_commit, thread_policy)
        self._writer_thread = threading.Thread(target=self._writer.run, name="oplog-writer", daemon=True)
        self._writer_thread.start()

    # -- writing ------------------------------------------------------------

    def batch(self) -> Batch:
        """A new empty batch for this store."""
        return Batch(self)

    def submit(self, batch: Batch) -> Commit:
        """Queue a batch for the writer; returns its Commit handle at once.

        Thread-safe. Blocks only while `max_queued_batches` batches are queued
        (backpressure). Raises WorkerExists if the batch creates a log that
        exists or is being created, OplogError if a log it appends to was
        deleted since, WriterFailed after a failed commit, StoreClosed after
        close().
        """
        if batch._store is not self:
            raise OplogError("this batch belongs to another store")
        batch._check_open()
        on_writer = threading.get_ident() == self._writer_thread.ident
        with self._lock:
            while (
                len(self._pending) >= self._max_queued
                and not on_writer
                and self._failed is None
                and not self._closing
            ):
                self._space.wait()
            if self._failed is not None or self._closing:
                batch._done = True
                self._raise_unusable()
            try:
                self._admit(batch)
            except OplogError:
                batch._done = True
                if batch._held:
                    self._queue_fill(batch._ops)
                raise
            batch._done = True
            commit = Commit()
            batch._commit = commit
            self._seq += 1
            batch._seq = self._seq
            pending = self._pending
            pending.append(batch)
            if len(pending) == self._want:
                self._arrived.notify()
        return commit

    async def commit(self, batch: Batch) -> None:
        """Submit and wait until the batch is durable (or raise its error)."""
        await self.submit(batch)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything submitted so far is durable; TimeoutError after `timeout` s."""
        if threading.get_ident() == self._writer_thread.ident:
            raise OplogError("flush() called from the oplog writer thread (a commit callback)")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            target = self._seq
            fills = self._fills_issued
            if fills > self._fills_done:
                self._arrived.notify()  # in case the writer missed a fill
            while self._done_seq < target or self._fills_done < fills:
                if self._failed is not None:
                    self._raise_unusable()
                if self._closing and not self._writer_thread.is_alive():
                    return  # closed: what close() committed is all there will be
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"oplog not flushed after {timeout} s")
                self._flushed.wait(remaining)
            if self._failed is not None:
                self._raise_unusable()

    def close(self) -> None:
        """Commit everything queued, stop the writer and close the environment. Idempotent."""
        if threading.get_ident() == self._writer_thread.ident:
            raise OplogError("close() called from the oplog writer thread (a commit callback)")
        with self._lock:
            if not self._closing:
                self._closing = True
                self._arrived.notify()
                self._space.notify_all()
        self._writer_thread.join()
        with self._gate:
            if self._closed:
                return
            self._closed = True
            while self._readers:
                self._gate.wait()
        try:
            if self.durability is Durability.NONE and self._failed is None:
                self._env.sync(True)
        finally:
            self._env.close()

    def __enter__(self) -> OplogStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ------------------------------------------------------------

    def read(self, worker_key: str, start: int = 1, count: int | None = None) -> list[tuple[int, Entry]]:
        """Committed entries of a log from index `start` on, at most `count` of them."""
        return [(i, decode_entry(v)) for i, v in self.read_raw(worker_key, start, count)]

    def read_raw(self, worker_key: str, start: int = 1, count: int | None = None) -> list[tuple[int, bytes]]:
        """Like `read` but undecoded (version byte + msgpack), for fast paths."""
        prefix = log_prefix(worker_key)
        if count is not None and count <= 0:
            return []
        start = max(1, start)
        end = prefix[:-1] + b"\x01"
        out: list[tuple[int, bytes]] = []
        txn = self._begin_read()
        try:
            cur = txn.cursor(db=self._oplog_db)
            if cur.set_range(prefix + start.to_bytes(INDEX_WIDTH, "big")):
                append = out.append
                for key, value in cur.iternext():
                    if key >= end:
                        break
                    if value and value[0] == RUN_TAG:
                        out += [pair for pair in expand(key, value) if pair[0] >= start]
                    else:
                        append((int.from_bytes(key[-INDEX_WIDTH:], "big"), value))
                    if count is not None and len(out) >= count:
                        break
            recent = self._recent.entries(txn, prefix, start)
        finally:
            self._end_read(txn)
        if recent:
            # The log's range holds every entry below the last one read from
            # it, so merging and then cutting at `count` gives the right prefix.
            out += recent
            out.sort(key=lambda pair: pair[0])
        if count is not None:
            del out[count:]
        return out

    def committed_last_index(self, worker_key: str) -> int:
        """Index of the last committed entry of a log; 0 if it has none."""
        prefix = log_prefix(worker_key)
        txn = self._begin_read()
        try:
            return self._last_index_in(txn, prefix)
        finally:
            self._end_read(txn)

    def last_index(self, worker_key: str) -> int:
        """Index of the last entry handed out, including appends not yet committed."""
        with self._lock:
            st = self._states.get(worker_key)
            if st is not None:
                return st.last
        return self.committed_last_index(worker_key)

    def forget_log(self, worker_key: str) -> bool:
        """Drop what memory holds for a settled log; its next use reads it from disk again.

        The store keeps a small state for every log written since it opened (the last
        index handed out, whether it exists, its deletions) and the writer the next index
        to commit: on a daemon that touches millions of workers, that is memory growing
        with history. It is dropped here only when it says nothing the disk does not:
        every index handed out is committed, existence is as committed, and the log was
        never deleted since the store opened. A deleted log's state stays, as it is what
        refuses a batch still appending to the old log (see `_admit`). True if dropped.
        """
        with self._lock:
            st = self._states.get(worker_key)
            if st is None:
                return False
            if st.gen != 0:
                return False
            txn = self._begin_read()
            try:
                settled = (self._last_index_in(txn, st.prefix) == st.last
                           and self._exists_in(txn, st.prefix) == st.exists)
            finally:
                self._end_read(txn)
            if not settled:
                return False
            del self._states[worker_key]
        # The writer's entry caches the committed next index, so dropping it at any
        # moment is safe: it is read from disk again when next needed.
        self._writer.forget(worker_key)
        return True

    def tracked_logs(self) -> int:
        """How many logs the store holds a state for in memory (see forget_log)."""
        return len(self._states)

    def log_exists(self, worker_key: str) -> bool:
        """True if the log is committed, or its creation was submitted (and not deleted since)."""
        with self._lock:
            st = self._states.get(worker_key)
            if st is not None:
                return st.exists
        return self._committed_exists(log_prefix(worker_key))

    def list_logs(self) -> list[str]:
        """Worker keys that have a committed log, in key order."""
        out: list[str] = []
        txn = self._begin_read()
        try:
            cur = txn.cursor(db=self._oplog_db)
            if not cur.first():
                return out
            while True:
                key = cur.key()
                wk = key[: key.index(b"\0")]
                out.append(wk.decode())
                if not cur.set_range(wk + b"\x01"):
                    return out
        finally:
            self._end_read(txn)

    def get(self, table: str, key: str) -> Any | None:
        """The committed row of `table` under `key`, or None."""
        db = self._table_db(table)
        txn = self._begin_read()
        try:
            data = txn.get(key.encode(), db=db)
        finally:
            self._end_read(txn)
        if data is None:
            return None
        return data if table == _BLOBS else decode_record(table, data)

    def scan(
        self,
        table: str,
        prefix: str = "",
        start_after: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[str, Any]]:
        """Rows of `table` whose key starts with `prefix`, in key order, after `start_after`."""
        db = self._table_db(table)
        if limit is not None and limit <= 0:
            return []
        bprefix = prefix.encode()
        first = bprefix
        if start_after is not None:
            # The smallest key strictly greater than start_after.
            first = max(first, start_after.encode() + b"\0")
        raw: list[tuple[bytes, bytes]] = []
        txn = self._begin_read()
        try:
            cur = txn.cursor(db=db)
            if cur.set_range(first):
                for key, value in cur.iternext():
                    if not key.startswith(bprefix):
                        break
                    raw.append((key, value))
                    if limit is not None and len(raw) >= limit:
                        break
        finally:
            self._end_read(txn)
        if table == _BLOBS:
            return [(k.decode(), v) for k, v in raw]
        return [(k.decode(), decode_record(table, v)) for k, v in raw]

    def get_blob(self, sha256: str) -> bytes | None:
        """The blob stored under its sha256 hex, or None."""
        return self.get(_BLOBS, sha256)

    # -- maintenance ----------------------------------------------------------

    def rebuild_indexes(self) -> None:
        """Recompute the "keys" and "promises" rows and the static "workers" fields from the logs.

        Derivation rules are in `oplog.indexes`. Rows the logs cannot tell
        about (keys still "created", rows of other tables) are kept. Meant for
        start-up, before anything else writes: concurrent appends may be
        missed.
        """
        self.flush()
        logs = self.list_logs()
        batch = self.batch()
        # Promises are wholly derived from the logs: drop every row first.
        for key, _row in self.scan(Table.PROMISES.value):
            batch.delete(Table.PROMISES.value, key)
        for wk in logs:
            derived = derive_indexes(wk, self.read(wk), self.get(Table.WORKERS.value, wk))
            if derived.worker is not None:
                batch.put(Table.WORKERS.value, wk, derived.worker)
            for key, row in derived.keys.items():
                batch.put(Table.KEYS.value, key, row)
                batch.put(Table.WORKER_KEYS.value, worker_keys_key(row.template_id, row.worker_name, key), True)
            for key, promise in derived.promises.items():
                batch.put(Table.PROMISES.value, key, promise)
        self.submit(batch).wait()
        log.info("oplog.indexes_rebuilt", logs=len(logs))

    def index_worker_keys(self, chunk: int = 20_000) -> int:
        """Give every invocation key its "worker_keys" row, once per store; returns how many.

        Stores written before that table existed have keys without it. Meant for
        start-up, before anything else writes; the "meta" flag that marks it done is
        written with the last rows, so an interrupted run starts over (the rows are
        the same each time).
        """
        if self.get(Table.META.value, WORKER_KEYS_INDEXED):
            return 0
        rows = self.scan(Table.KEYS.value)
        for start in range(0, len(rows) + 1, chunk):
            batch = self.batch()
            for key, rec in rows[start:start + chunk]:
                batch.put(Table.WORKER_KEYS.value, worker_keys_key(rec.template_id, rec.worker_name, key), True)
            if start + chunk > len(rows):
                batch.put(Table.META.value, WORKER_KEYS_INDEXED, True)
            self.submit(batch).wait()
        if rows:
            log.info("oplog.worker_keys_indexed", keys=len(rows))
        return len(rows)

    # -- internals (used by Batch and Writer) --------------------------------

    def _table_db(self, table: str):
        if table != _BLOBS and table not in TABLE_TYPES:
            raise OplogError(f"unknown table {table!r}")
        return self._dbs[table]

    def _raise_unusable(self) -> None:
        if self._failed is not None:
            err = WriterFailed(f"oplog writer failed earlier: {self._failed!r}")
            # Set by hand: mypyc 2.4 drops the cause of `raise ... from` (the test checks it).
            err.__cause__ = self._failed
            raise err
        raise StoreClosed("oplog store is closed")

    def _state(self, worker_key: str) -> _LogState:
        """The log state of a worker key; call with self._lock held."""
        st = self._states.get(worker_key)
        if st is None:
            prefix = log_prefix(worker_key)
            txn = self._begin_read()
            try:
                exists = self._exists_in(txn, prefix)
                last = self._last_index_in(txn, prefix)
            finally:
                self._end_read(txn)
            st = self._states[worker_key] = _LogState(prefix, last, exists)
        return st

    def _assign_index(self, worker_key: str) -> tuple[int, int, bytes]:
        """Hand out the next index of an existing log: (index, gen, the entry's key)."""
        lock = self._lock
        lock.acquire()  # not `with`, which costs twice as much: this runs for every entry
        try:
            if self._failed is not None or self._closing:
                self._raise_unusable()
            st = self._states.get(worker_key) or self._state(worker_key)
            if not st.exists:
                raise OplogError(f"no log {worker_key!r}: create it first (in this batch or an earlier one)")
            index = st.last = st.last + 1
            return index, st.gen, st.prefix + index.to_bytes(INDEX_WIDTH, "big")
        finally:
            lock.release()

    def _admit(self, batch: Batch) -> None:
        """Check a batch against the logs as submitted so far, then apply its effects. Lock held."""
        for wk, r in batch._ranges.items():
            if self._states[wk].gen != r[0]:
                raise OplogError(f"log {wk!r} was deleted while this batch was appending to it")
        if not batch._local:
            return
        for wk, loc in batch._local.items():
            if loc.creates_first and self._state(wk).exists:
                raise WorkerExists(f"log {wk!r} already exists")
        effects = []
        for wk, loc in batch._local.items():
            st = self._state(wk)
            st.gen += loc.deletes
            st.exists = loc.exists
            st.last = loc.last if loc.exists else 0
            effects.append((wk, loc.deletes, st.last + 1))
        batch._effects = effects

    def _fill_held(self, ops: list[tuple]) -> None:
        """Queue NoOp entries for indexes of a batch that will never be submitted."""
        if self._closing or self._failed is not None:
            return
        self._queue_fill(ops)
        # Called from __del__ too, possibly on a thread that holds the lock
        # already: never block here. The writer polls if this wake is missed.
        if self._lock.acquire(blocking=False):
            try:
                self._arrived.notify()
            finally:
                self._lock.release()

    def _queue_fill(self, ops: list[tuple]) -> None:
        # next() on a count is atomic; no lock, as __del__ may be the caller.
        ticket = next(self._fill_tickets)
        self._fills.put(Held(ops, time.time_ns(), ticket))
        if ticket > self._fills_issued:
            self._fills_issued = ticket

    def _take(self, expected: int, limit: int, waiting: bool) -> tuple[list[Batch], bool]:
        """Writer thread: wait for submitted batches and take up to `limit` of them.

        Group commit without needless wake-ups: after the first batch, keep
        waiting (woken once, not per batch) until `expected` batches are in,
        as long as more keep arriving within GATHER_GAP_S and for at most
        GATHER_MAX_S. Returns (batches, stop).
        """
        with self._lock:
            pending = self._pending
            if not pending and not self._closing and self._fills.empty():
                self._want = 1
                self._arrived.wait(POLL_S if waiting else None)
            if pending and len(pending) < expected and not self._closing:
                self._want = expected = min(expected, limit)
                deadline = time.monotonic() + GATHER_MAX_S
                seen = len(pending)
                while seen < expected and not self._closing:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._arrived.wait(min(GATHER_GAP_S, remaining))
                    if len(pending) == seen:
                        break  # a whole gap without a new batch: nobody else is coming
                    seen = len(pending)
            self._want = 0
            if len(pending) <= limit:
                items = pending[:]
                pending.clear()
            else:
                items = pending[:limit]
                del pending[:limit]
            if items:
                self._space.notify_all()
            return items, self._closing and not pending

    def _after_round(self, max_seq: int | None, max_ticket: int | None, pool: list[Batch]) -> None:
        """Writer thread: record what is durable now and wake flush() waiters."""
        with self._lock:
            if max_seq is not None:
                self._max_dequeued = max_seq
            if max_ticket is not None:
                self._max_ticket = max_ticket
            low = low_ticket = None
            for b in pool:
                if b._seq is not None and (low is None or b._seq < low):
                    low = b._seq
                if b._ticket is not None and (low_ticket is None or b._ticket < low_ticket):
                    low_ticket = b._ticket
            self._done_seq = self._max_dequeued if low is None else low - 1
            self._fills_done = self._max_ticket if low_ticket is None else low_ticket - 1
            self._flushed.notify_all()

    def _set_failed(self, exc: BaseException) -> list[Batch]:
        """Writer thread: refuse writes from now on; returns the batches still pending."""
        with self._lock:
            if self._failed is None:
                self._failed = exc
            left = self._pending[:]
            self._pending.clear()
            self._space.notify_all()
            self._flushed.notify_all()
            return left

    def _new_write_txn(self) -> lmdb.Transaction:
        return self._env.begin(write=True)

    def _abort_write(self, txn, grow: bool) -> None:
        """Writer thread: abort a write transaction, then double the map if `grow`.

        Both run with no reader inside: growing the map invalidates open
        transactions, and py-lmdb 3.0 can make the abort of a write
        transaction wait indefinitely while other threads keep reading.
        """
        with self._gate:
            self._paused = True
            while self._readers:
                self._gate.wait()
        try:
            try:
                txn.abort()
            except Exception:  # an invalid (already failed) transaction
                pass
            if grow:
                new_size = self._env.info()["map_size"] * 2
                self._env.set_mapsize(new_size)
                self.stats["map_resizes"] += 1
                log.info("oplog.map_grown", map_size=new_size)
        finally:
            with self._gate:
                self._paused = False
                self._gate.notify_all()

    def _begin_read(self):
        with self._gate:
            while self._paused:
                self._gate.wait()
            if self._closed:
                raise StoreClosed("oplog store is closed")
            self._readers += 1
        try:
            return self._env.begin(buffers=False)
        except BaseException:
            self._leave_gate()
            raise

    def _end_read(self, txn) -> None:
        try:
            txn.abort()
        finally:
            self._leave_gate()

    def _leave_gate(self) -> None:
        with self._gate:
            self._readers -= 1
            if not self._readers and (self._paused or self._closed):
                self._gate.notify_all()

    def _committed_exists(self, prefix: bytes) -> bool:
        txn = self._begin_read()
        try:
            return self._exists_in(txn, prefix)
        finally:
            self._end_read(txn)

    def _exists_in(self, txn, prefix: bytes) -> bool:
        cur = txn.cursor(db=self._oplog_db)
        return cur.set_range(prefix) and cur.key().startswith(prefix)

    def _last_index_in(self, txn, prefix: bytes) -> int:
        """Last committed index of the log in read transaction `txn`; 0 if none."""
        return max(self._range_last_index(txn, prefix), self._recent.last_index(txn, prefix))

    def _range_last_index(self, txn, prefix: bytes) -> int:
        """Last index in the log's own key range; 0 if none (or only the header row)."""
        cur = txn.cursor(db=self._oplog_db)
        found = cur.prev() if cur.set_range(prefix[:-1] + b"\x01") else cur.last()
        if not found:
            return 0
        key = cur.key()
        if not key.startswith(prefix):
            return 0
        return int.from_bytes(key[-INDEX_WIDTH:], "big")


__all__ = ["Durability", "OplogStore"]
