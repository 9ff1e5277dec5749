"""One worker's view of the oplog store: ordered appends and waiting for durability."""

from __future__ import annotations

import threading
from typing import Any, Callable

from oplog import Commit, Entry, OplogStore


class WorkerLog:
    """Appends to one worker's log, each append submitted to the group-commit writer at once.

    A lock spans index assignment and submission, so this worker's entries reach the
    writer in index order whichever thread (guest or event loop) appends them.
    """

    __slots__ = ("store", "key", "_lock", "last")

    def __init__(self, store: OplogStore, key: str):
        self.store = store
        self.key = key
        self._lock = threading.Lock()
        self.last: Commit | None = None

    def append(self, entry: Entry, puts: tuple[tuple[str, str, Any], ...] = ()) -> int:
        return self.append_with_commit(entry, puts)[0]

    def append_with_commit(self, entry: Entry, puts: tuple[tuple[str, str, Any], ...] = ()) -> tuple[int, Commit]:
        with self._lock:
            batch = self.store.batch()
            idx = batch.append(self.key, entry)
            for table, key, value in puts:
                batch.put(table, key, value)
            commit = self.last = self.store.submit(batch)
        return idx, commit

    def append_then_put(self, entry: Entry, puts_for: Callable[[int], Any]) -> tuple[int, Commit]:
        """Append `entry` and, in the same batch, the index rows that name its index."""
        with self._lock:
            predicted = self.store.last_index(self.key) + 1
            batch = self.store.batch()
            idx = batch.append(self.key, entry)
            assert idx == predicted, "appends to one worker must go through its WorkerLog"
            for table, key, value in puts_for(idx):
                batch.put(table, key, value)
            commit = self.last = self.store.submit(batch)
        return idx, commit

    def append_at(self, factory: Callable[[int], Entry]) -> int:
        """Append an entry whose content depends on its own index (e.g. a Jump, get-oplog-index)."""
        with self._lock:
            predicted = self.store.last_index(self.key) + 1
            batch = self.store.batch()
            idx = batch.append(self.key, factory(predicted))
            assert idx == predicted, "appends to one worker must go through its WorkerLog"
            self.last = self.store.submit(batch)
        return idx

    def put(self, table: str, key: str, value: Any) -> Commit:
        with self._lock:
            batch = self.store.batch()
            batch.put(table, key, value)
            commit = self.last = self.store.submit(batch)
        return commit

    def wait(self) -> None:
        """Block until everything appended so far is durable."""
        last = self.last
        if last is not None:
            last.wait()

    async def durable(self) -> None:
        last = self.last
        if last is not None:
            await last
