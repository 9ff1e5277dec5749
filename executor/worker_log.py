"""One worker's view of the oplog store: ordered appends and waiting for durability."""

from __future__ import annotations

import threading
from typing import Any, Callable

from oplog import Batch, Commit, Entry, OplogStore

Puts = tuple[tuple[str, str, Any], ...]


class WorkerLog:
    """Appends to one worker's log, in index order, through the group-commit writer.

    While an invocation runs, the guest thread *holds* a batch: the invocation's entries
    (start, host calls, completion) collect in it and reach the writer in one submit at
    the end, instead of one submit each. Anything that needs durability earlier (a
    remote write, a promise, `oplog-commit`) calls `wait()`, which submits what is held
    first. Appends from any other thread submit the held batch before their own, so the
    log stays in index order and no append ever waits on a running invocation.
    """

    __slots__ = ("store", "key", "_lock", "last", "_held", "_holder")

    def __init__(self, store: OplogStore, key: str):
        self.store = store
        self.key = key
        self._lock = threading.Lock()
        self.last: Commit | None = None
        self._held: Batch | None = None
        self._holder: int | None = None

    # ------------------------------------------------------------ holding (guest thread)

    def hold(self) -> None:
        """From now on, this thread's appends collect in one batch until `release()`."""
        with self._lock:
            self._flush_locked()
            self._held = self.store.batch()
            self._holder = threading.get_ident()

    def release(self) -> Commit | None:
        """Submit what was held; returns the commit covering everything appended so far."""
        with self._lock:
            self._holder = None  # first, so the flush does not open a fresh batch to hold
            self._flush_locked()
            return self.last

    def _flush_locked(self) -> None:
        held = self._held
        if held is not None:
            self._held = self.store.batch() if self._holder is not None else None
            if len(held):
                self.last = self.store.submit(held)
            else:
                held.discard()

    def _batch_locked(self) -> tuple[Batch, bool]:
        """The batch to append to, and whether it is held (not to be submitted now)."""
        if self._held is not None and self._holder == threading.get_ident():
            return self._held, True
        self._flush_locked()  # another thread: what the guest holds goes first
        return self.store.batch(), False

    # ------------------------------------------------------------ appends

    def append(self, entry: Entry, puts: Puts = ()) -> int:
        return self.append_with_commit(entry, puts)[0]

    def append_with_commit(self, entry: Entry, puts: Puts = ()) -> tuple[int, Commit | None]:
        """Append `entry` (and index rows); the commit is None while the batch is held."""
        return self._append(entry, None, lambda idx: puts)

    def append_then_put(self, entry: Entry, puts_for: Callable[[int], Puts]) -> tuple[int, Commit | None]:
        """Append `entry` and, in the same batch, the index rows that name its index."""
        return self._append(entry, None, puts_for)

    def append_at(self, factory: Callable[[int], Entry]) -> int:
        """Append an entry whose content depends on its own index (a Jump, get-oplog-index)."""
        return self._append(None, factory, None)[0]

    def _append(self, entry: Entry | None, factory: Callable[[int], Entry] | None,
                puts_for: Callable[[int], Puts] | None) -> tuple[int, Commit | None]:
        with self._lock:
            batch, held = self._batch_locked()
            if factory is not None:
                # Only an entry that names its own index needs it before the append.
                predicted = self.store.last_index(self.key) + 1
                entry = factory(predicted)
            idx = batch.append(self.key, entry)
            if factory is not None:
                assert idx == predicted, "appends to one worker must go through its WorkerLog"
            for table, key, value in (puts_for(idx) if puts_for else ()):
                batch.put(table, key, value)
            if held:
                return idx, None
            commit = self.last = self.store.submit(batch)
        return idx, commit

    def put(self, table: str, key: str, value: Any) -> None:
        self._row(lambda batch: batch.put(table, key, value))

    def delete(self, table: str, key: str) -> None:
        self._row(lambda batch: batch.delete(table, key))

    def _row(self, write: Callable[[Batch], None]) -> None:
        with self._lock:
            batch, held = self._batch_locked()
            write(batch)
            if not held:
                self.last = self.store.submit(batch)

    # ------------------------------------------------------------ durability

    def wait(self) -> None:
        """Block until everything appended so far (held or not) is durable."""
        with self._lock:
            self._flush_locked()
            last = self.last
        if last is not None:
            last.wait()

    async def durable(self) -> None:
        with self._lock:
            self._flush_locked()
            last = self.last
        if last is not None:
            await last
