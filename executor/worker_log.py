"""One worker's view of the oplog store: ordered appends and waiting for durability."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, Sequence

from oplog import Batch, Commit, Entry, OplogStore

from .guest_pool import Burst
from .inbox import LoopInbox

# Index rows written with an entry: (table, key, value); a tuple or a list.
Puts = Sequence[tuple[str, str, Any]]


class LogBurst(Burst):
    """A guest thread's burst, with the oplog entries of its invocations in one batch.

    The invocations a guest thread runs back to back (one each of different workers)
    append to one shared batch, submitted once for all of them, and their callers are
    answered by one callback when that commit lands: one submit, one commit handle and
    one loop wake-up per burst instead of per invocation. The results of the burst reach
    the loop only after the batch was submitted, so whatever the loop does next with a
    worker is ordered after its entries.
    """

    def __init__(self, store: OplogStore) -> None:
        super().__init__()
        self.store = store
        self.batch: Batch | None = None
        self.logs: list[WorkerLog] = []    # logs with entries in `batch`
        self.after: list = []              # (fn, args) run on the loop once `batch` is durable
        self.inbox: LoopInbox | None = None  # where `after` runs
        self.last: Commit | None = None    # the commit of the last batch submitted

    def row(self, wlog: WorkerLog, write: Callable[[Batch], None]) -> None:
        with self.lock:
            write(self._batch_for(wlog))

    def _batch_for(self, wlog: WorkerLog) -> Batch:
        """The shared batch, with `wlog` noted as having entries in it.

        The burst's lock held, and `wlog`'s before it (lock order: log, then burst).
        """
        if self.batch is None:
            self.batch = self.store.batch()
        if wlog._burst is not self:
            wlog._burst = self
            self.logs.append(wlog)
        return self.batch

    def after_commit(self, inbox, fn: Callable, *args: Any) -> None:
        """Run `fn(error_or_None, *args)` on the loop once this burst's entries are durable."""
        lock = self.lock
        lock.acquire()  # not `with`, which costs twice as much: this runs per invocation
        try:
            self.inbox = inbox
            self.after.append((fn, args))
        finally:
            lock.release()

    def submit(self) -> None:
        """Submit the shared batch (from any thread: who needs it durable first)."""
        with self.lock:
            self._submit_locked()

    def _submit_locked(self) -> None:
        batch, self.batch = self.batch, None
        logs, self.logs = self.logs, []
        after, self.after = self.after, []
        commit = error = None
        if batch is not None and len(batch):
            try:
                commit = self.store.submit(batch)
            except BaseException as e:  # noqa: BLE001 - every caller of the burst hears of it
                error = e
        elif batch is not None:
            batch.discard()
        for wlog in logs:
            # Without the log's lock: `last` is set before `_burst` is cleared, so a
            # thread that saw `_burst` and waited for this submit reads the new `last`.
            if commit is not None:
                wlog.last = commit
            wlog._burst = None
        if commit is not None:
            self.last = commit
        elif error is None:
            # Nothing new to submit: whatever the waiting callers appended went out with
            # an earlier submit (another thread may have flushed this burst in between),
            # and commits land in submission order, so the last one covers it.
            commit = self.last
        if not after:
            return
        inbox = self.inbox
        assert inbox is not None  # set by every after_commit
        if commit is None:
            inbox.post_many([(fn, (error, *args)) for fn, args in after])
        else:
            commit.add_done_callback(lambda err: inbox.post_many([(fn, (err, *args)) for fn, args in after]))

    def flush(self) -> None:
        with self.lock:
            self._submit_locked()
        super().flush()


class WorkerLog:
    """Appends to one worker's log, in index order, through the group-commit writer.

    While an invocation runs, its guest thread *holds* the log: the invocation's entries
    (start, host calls, completion) go into the shared batch of the thread's burst, which
    reaches the writer in one submit with the other invocations of the burst. Anything
    that needs durability earlier (a remote write, a promise, `oplog-commit`) calls
    `wait()`, which submits the burst first. Appends from any other thread submit the
    burst holding this log's entries before their own, so the log stays in index order
    and no append ever waits on a running invocation.
    """

    __slots__ = ("store", "key", "_lock", "last", "_holding", "_burst", "durable_gate")

    def __init__(self, store: OplogStore, key: str):
        self.store = store
        self.key = key
        self._lock = threading.Lock()
        self.last: Commit | None = None
        self._holding: LogBurst | None = None   # the burst of the guest thread holding this log
        self._burst: LogBurst | None = None     # a burst holding entries of ours, unsubmitted
        # Fault injection for tests: while set, durable() also waits for this event (a
        # compiled class's methods cannot be replaced to hold back its answer).
        self.durable_gate: asyncio.Event | None = None

    # ------------------------------------------------------------ holding (guest thread)

    def hold(self, burst: LogBurst) -> None:
        """From now on, this thread's appends go into `burst` (this thread's) until `release()`."""
        lock = self._lock
        lock.acquire()  # not `with`, which costs twice as much: this runs per invocation
        try:
            # Entries in this very burst stay in order; those another burst holds go first
            # (rarely any: a burst's submit clears the field, so no call in the usual case).
            if self._burst is not None and self._burst is not burst:
                self._flush_locked()
            self._holding = burst
        finally:
            lock.release()

    def release(self) -> None:
        """Stop holding; the burst submits what was appended."""
        # No lock: `_holding` counts only for the thread that set it (_held_by_caller
        # compares its owner with the caller), and that thread is this one.
        self._holding = None

    def _held_by_caller(self) -> LogBurst | None:
        """The holding burst if the calling thread is its owner; lock held."""
        burst = self._holding
        if burst is not None and burst.owner == threading.get_ident():
            return burst
        return None

    def _flush_locked(self) -> None:
        burst = self._burst
        if burst is not None:
            burst.submit()  # entries of ours wait in a burst: they go first

    # ------------------------------------------------------------ appends

    def append(self, entry: Entry, puts: Puts = ()) -> int:
        return self._append(entry, None, None, puts)[0]

    def append_with_commit(self, entry: Entry, puts: Puts = ()) -> tuple[int, Commit | None]:
        """Append `entry` (and index rows); the commit is None while the log is held."""
        return self._append(entry, None, None, puts)

    def append_then_put(self, entry: Entry, puts_for: Callable[[int], Puts]) -> tuple[int, Commit | None]:
        """Append `entry` and, in the same batch, the index rows that name its index."""
        return self._append(entry, None, puts_for)

    def append_at(self, factory: Callable[[int], Entry]) -> int:
        """Append an entry whose content depends on its own index (a Jump, get-oplog-index)."""
        return self._append(None, factory, None)[0]

    def _append(self, entry: Entry | None, factory: Callable[[int], Entry] | None,
                puts_for: Callable[[int], Puts] | None, puts: Puts = ()) -> tuple[int, Commit | None]:
        # Both locks taken without `with`, which costs twice as much: this runs for
        # every entry.
        lock = self._lock
        lock.acquire()
        try:
            burst = self._held_by_caller()
            if burst is not None:
                burst_lock = burst.lock
                burst_lock.acquire()
                try:
                    return _append_to(burst._batch_for(self), self, entry, factory, puts_for, puts), None
                finally:
                    burst_lock.release()
            self._flush_locked()  # what a burst holds of ours goes first
            batch = self.store.batch()
            idx = _append_to(batch, self, entry, factory, puts_for, puts)
            commit = self.last = self.store.submit(batch)
        finally:
            lock.release()
        return idx, commit

    def put(self, table: str, key: str, value: Any) -> None:
        self._row(lambda batch: batch.put(table, key, value))

    def delete(self, table: str, key: str) -> None:
        self._row(lambda batch: batch.delete(table, key))

    def _row(self, write: Callable[[Batch], None]) -> None:
        with self._lock:
            burst = self._held_by_caller()
            if burst is not None:
                burst.row(self, write)
                return
            self._flush_locked()
            batch = self.store.batch()
            write(batch)
            self.last = self.store.submit(batch)

    # ------------------------------------------------------------ durability

    def settled(self) -> bool:
        """Is everything appended so far durable (nothing held, unsubmitted or committing)?"""
        last = self.last
        return self._holding is None and self._burst is None and (last is None or last.done())

    def wait(self) -> None:
        """Block until everything appended so far (held or not) is durable."""
        with self._lock:
            self._flush_locked()
            last = self.last
        if last is not None:
            last.wait()

    async def durable(self) -> None:
        gate = self.durable_gate
        if gate is not None:
            await gate.wait()
        with self._lock:
            self._flush_locked()
            last = self.last
        if last is not None:
            await last


def _append_to(batch: Batch, wlog: WorkerLog, entry: Entry | None, factory: Callable[[int], Entry] | None,
               puts_for: Callable[[int], Puts] | None, puts: Puts) -> int:
    """Append `entry`, or what `factory` makes of its index, to `batch`; then the index rows:
    `puts`, or those `puts_for` names for the index."""
    if factory is None:
        assert entry is not None, "an entry or a factory"
        if puts_for is None and not puts:
            return batch.append(wlog.key, entry)
    else:
        # Only an entry that names its own index needs it before the append.
        predicted = wlog.store.last_index(wlog.key) + 1
        entry = factory(predicted)
    idx = batch.append(wlog.key, entry)
    if factory is not None:
        assert idx == predicted, "appends to one worker must go through its WorkerLog"
    for table, key, value in (puts_for(idx) if puts_for else puts):
        batch.put(table, key, value)
    return idx
