"""Batch: one atomic unit of log appends and index writes.

A batch is built on the caller's thread: entries are encoded and keys computed
there, so the writer thread only replays ready-made puts. Everything in a
batch is committed in the same LMDB transaction.

Indexes are handed out at `append` time (callers need them at once: an index
becomes a promise id or the answer to `get-oplog-index`). An index handed out
by a batch that is never committed would leave a hole in the log, so a batch
that is dropped without being submitted, or whose submit fails, has those
indexes filled with `NoOp` entries. While a batch holds indexes it has not
submitted, later entries of the same worker wait for it: submit promptly and
never hold an unsubmitted batch across a wait for something else.

A batch is used by one thread at a time; build another batch per thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .encoding import encode_value
from .entries import Entry, NoOp
from .errors import OplogError, WorkerExists
from .records import encode_record
from .tables import Table

if TYPE_CHECKING:
    from .commit import Commit
    from .store import OplogStore

# Op codes. An op is (code, db, key, value, worker_key, gen); worker_key and
# gen are only meaningful for APPEND, an append to a log this batch did not
# create itself (the writer checks those for order and for deleted logs).
PUT = 0
APPEND = 1
DEL = 2
DELLOG = 3

INDEX_WIDTH = 8
# Row 0 of every log marks that the log exists, even before its first entry.
HEADER_SUFFIX = bytes(INDEX_WIDTH)
HEADER_VALUE = b"\x01"

_BLOBS = Table.BLOBS.value


def log_prefix(worker_key: str) -> bytes:
    """The key prefix of a worker's log (validates the worker key)."""
    if not isinstance(worker_key, str) or not worker_key or "\0" in worker_key:
        raise OplogError(f"invalid worker key {worker_key!r}")
    return worker_key.encode() + b"\0"


class _Local:
    """The batch's own view of a log it created or deleted."""

    __slots__ = ("creates_first", "deletes", "exists", "last", "prefix")

    def __init__(self, prefix: bytes, exists: bool, deletes: int, creates_first: bool) -> None:
        self.prefix = prefix
        self.last = 0
        self.exists = exists
        self.deletes = deletes
        self.creates_first = creates_first


class Batch:
    """One atomic unit: log creations, appends, deletions and index-table writes."""

    __slots__ = (
        "_commit",
        "_dead",
        "_done",
        "_effects",
        "_held",
        "_local",
        "_nbytes",
        "_nentries",
        "_ops",
        "_ranges",
        "_seq",
        "_store",
        "_ticket",
        "_touched",
        "_waiting_since",
    )

    def __init__(self, store: OplogStore) -> None:
        self._store = store
        self._ops: list[tuple] = []
        # worker_key -> [gen, first, last, count] of APPEND ops
        self._ranges: dict[str, list[int]] = {}
        self._local: dict[str, _Local] = {}
        # Worker keys and (table, key) pairs written other than by APPEND: a
        # later batch touching one of them never commits before this one.
        self._touched: set | None = None
        self._effects: list[tuple[str, int, int]] = []
        self._commit: Commit | None = None
        self._seq: int | None = None
        self._ticket: int | None = None  # set on NoOp fill batches only
        self._nentries = 0
        self._nbytes = 0
        self._done = False
        self._held = False
        self._dead: set[str] | None = None
        self._waiting_since: float | None = None

    def __len__(self) -> int:
        return len(self._ops)

    def create_log(self, worker_key: str) -> None:
        """Create the worker's log; submit() raises WorkerExists if it exists or is being created."""
        self._check_open()
        prefix = log_prefix(worker_key)
        loc = self._local.get(worker_key)
        if loc is None:
            self._local[worker_key] = _Local(prefix, True, 0, True)
        elif loc.exists:
            raise WorkerExists(f"log {worker_key!r} is created twice in one batch")
        else:
            loc.exists = True
            loc.last = 0
        self._ops.append((PUT, self._store._oplog_db, prefix + HEADER_SUFFIX, HEADER_VALUE, None, 0))
        self._touch(worker_key)

    def append(self, worker_key: str, entry: Entry) -> int:
        """Append an entry; returns its index, assigned now (thread-safe across batches)."""
        self._check_open()
        value = encode_value(entry)
        store = self._store
        loc = self._local.get(worker_key) if self._local else None
        if loc is not None:
            if not loc.exists:
                raise OplogError(f"no log {worker_key!r}: it was deleted in this batch")
            loc.last += 1
            index = loc.last
            self._ops.append((PUT, store._oplog_db, loc.prefix + index.to_bytes(INDEX_WIDTH, "big"), value, None, 0))
            self._nentries += 1
            self._nbytes += len(value)
        else:
            index, gen, key = store._assign_index(worker_key)
            self._add_append(store._oplog_db, key, value, worker_key, gen, index)
            self._held = True
        return index

    def _add_append(self, db, key: bytes, value: bytes, worker_key: str, gen: int, index: int) -> None:
        """Record an APPEND to a log this batch did not create, widening its range."""
        self._ops.append((APPEND, db, key, value, worker_key, gen))
        r = self._ranges.get(worker_key)
        if r is None:
            self._ranges[worker_key] = [gen, index, index, 1]
        else:
            # A different gen means the log was deleted meanwhile; r keeps
            # the old gen so submit() refuses the batch.
            r[2] = index
            r[3] += 1
        self._nentries += 1
        self._nbytes += len(value)

    def delete_log(self, worker_key: str) -> None:
        """Remove every entry of the worker's log; its indexes restart at 1."""
        self._check_open()
        prefix = log_prefix(worker_key)
        loc = self._local.get(worker_key)
        if loc is None:
            self._local[worker_key] = _Local(prefix, False, 1, False)
        else:
            loc.deletes += 1
            loc.exists = False
            loc.last = 0
        # Entries this batch appended to the old log die with it in the same
        # transaction, so they need not wait for earlier indexes.
        self._ranges.pop(worker_key, None)
        self._ops.append((DELLOG, self._store._oplog_db, prefix, None, worker_key, 0))
        self._touch(worker_key)

    def put(self, table: str, key: str, value: Any) -> None:
        """Write an index row (a record of the table's type; raw bytes for "blobs")."""
        self._check_open()
        if table == _BLOBS:
            self.put_blob(key, value)
            return
        data = encode_record(table, value)
        self._ops.append((PUT, self._store._table_db(table), key.encode(), data, None, 0))
        self._nbytes += len(data)
        self._touch((table, key))

    def delete(self, table: str, key: str) -> None:
        """Delete an index row (no error if absent)."""
        self._check_open()
        self._ops.append((DEL, self._store._table_db(table), key.encode(), None, None, 0))
        self._touch((table, key))

    def put_blob(self, sha256: str, data: bytes) -> None:
        """Store raw bytes under their sha256 hex."""
        self._check_open()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise OplogError(f"a blob must be bytes, got {type(data).__name__}")
        data = bytes(data)
        self._ops.append((PUT, self._store._table_db(_BLOBS), sha256.encode(), data, None, 0))
        self._nbytes += len(data)
        self._touch((_BLOBS, sha256))

    def discard(self) -> None:
        """Give up this batch without submitting it; indexes it holds become NoOp entries."""
        if not self._done:
            self._done = True
            if self._held:
                self._store._fill_held(self._ops)

    def _touch(self, token: Any) -> None:
        if self._touched is None:
            self._touched = {token}
        else:
            self._touched.add(token)

    def _check_open(self) -> None:
        if self._done:
            raise OplogError("this batch was already submitted or discarded")

    def __del__(self) -> None:
        # A batch dropped while holding indexes (an exception between append
        # and submit) must not leave holes that block the worker forever.
        if not self._done and self._held:
            try:
                self._store._fill_held(self._ops)
            except Exception:  # interpreter shutdown or a closed store
                pass


def filler_batches(store: OplogStore, ops: list[tuple], timestamp: int) -> list[Batch]:
    """NoOp batches for the APPEND indexes of a batch that will never commit.

    One batch per (worker, gen): the writer checks each range against one gen.
    """
    noop = encode_value(NoOp(timestamp=timestamp))
    by_log: dict[tuple[str, int], Batch] = {}
    for code, db, key, _value, worker_key, gen in ops:
        if code != APPEND:
            continue
        b = by_log.get((worker_key, gen))
        if b is None:
            b = by_log[(worker_key, gen)] = Batch(store)
            b._done = True
        b._add_append(db, key, noop, worker_key, gen, int.from_bytes(key[-INDEX_WIDTH:], "big"))
    return list(by_log.values())

