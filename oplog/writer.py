"""The group-commit writer: the only thread that opens LMDB write transactions.

Each round takes the batches submitted so far (see OplogStore._take for how it
waits for a cohort without waking once per batch), applies them all in one
transaction and commits: one fsync covers every batch of the round. Only then
are their Commit handles resolved.

Batches normally commit in submission order. The one exception keeps every
log gap-free on disk: a batch whose entries come after an index still held by
a batch that was not submitted yet waits (with every later batch touching the
same log or row) until the missing index arrives, and then commits in the same
transaction as it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import lmdb
import structlog

from .batch import APPEND, DEL, DELLOG, INDEX_WIDTH, Batch, filler_batches
from .commit import resolve_all
from .errors import StoreClosed, WriterFailed
from .recent import RECENT_MAX_VALUE, RecentWrites
from .scheduling import prepare_helper_thread

if TYPE_CHECKING:
    from .store import OplogStore

log = structlog.get_logger(__name__)


class Held:
    """The APPEND ops of a batch that will never commit, queued for NoOp filling."""

    __slots__ = ("ops", "ticket", "timestamp")

    def __init__(self, ops: list[tuple], timestamp: int, ticket: int) -> None:
        self.ops = ops
        self.timestamp = timestamp
        self.ticket = ticket


# How long a batch may wait for a missing index before it is logged, and how
# often the writer looks for dropped batches while some batch waits.
WAIT_WARNING_S = 5.0
POLL_S = 0.05


class Writer:
    """State and loop of the writer thread (one per store)."""

    def __init__(self, store: OplogStore, max_batches_per_commit: int, thread_policy: str) -> None:
        self._store = store
        self._thread_policy = thread_policy
        self._max = max(1, max_batches_per_commit)
        self._oplog_db = store._oplog_db
        self._recent = store._recent
        # Per worker key: the generation (number of deletions seen) and the
        # next index to commit, as committed on disk. Loaded lazily.
        self._gen: dict[str, int] = {}
        self._next: dict[str, int] = {}
        self._pool: list[Batch] = []

    def forget(self, worker_key: str) -> None:
        """Any thread: drop the cached next index of a log (OplogStore.forget_log)."""
        self._next.pop(worker_key, None)

    # -- loop ---------------------------------------------------------------

    def run(self) -> None:
        prepare_helper_thread(self._thread_policy)
        store = self._store
        cand: list[Batch] = []
        # How many batches the last round committed: their submitters are
        # likely to come back at once, so the next round waits for them.
        expected = 1
        try:
            while True:
                items, stop = store._take(expected, self._max, bool(self._pool))
                fillers, max_ticket = self._take_fillers()
                cand = self._pool + fillers + items if (self._pool or fillers) else items
                if cand:
                    self._pool = self._commit_round(cand)
                    cand = []
                store._after_round(items[-1]._seq if items else None, max_ticket, self._pool)
                if items:
                    expected = len(items)
                if self._pool:
                    self._warn_waiting()
                if stop:
                    break
        except BaseException as exc:  # noqa: BLE001 - every waiter must hear of it
            self._fail(exc, cand)
            return
        leftover, self._pool = self._pool, []
        for b in leftover:
            if b._commit is not None:
                b._commit._resolve(
                    StoreClosed("store closed while this batch waited for an index held by a batch never submitted")
                )
        store._after_round(None, None, [])

    def _take_fillers(self) -> tuple[list[Batch], int | None]:
        store = self._store
        queued = store._fills
        fillers: list[Batch] = []
        max_ticket = None
        while not queued.empty():
            item = queued.get_nowait()
            batches = filler_batches(store, item.ops, item.timestamp)
            for b in batches:
                b._ticket = item.ticket
            max_ticket = item.ticket if max_ticket is None else max(max_ticket, item.ticket)
            count = sum(b._nentries for b in batches)
            store.stats["filled_indexes"] += count
            log.warning(
                "oplog.filled_unsubmitted_indexes",
                count=count,
                workers=sorted({k for b in batches for k in b._ranges}),
            )
            fillers.extend(batches)
        return fillers, max_ticket

    def _fail(self, exc: BaseException, cand: list[Batch]) -> None:
        log.error("oplog.commit_failed", error=repr(exc), exc_info=exc)
        for b in cand:
            if b._commit is not None and not b._commit.done():
                b._commit._resolve(exc)
        # Batches queued behind the failure can never commit: fail each one
        # so no waiter hangs; submit() refuses new ones from now on.
        for b in self._pool + self._store._set_failed(exc):
            if b._commit is not None and not b._commit.done():
                err = WriterFailed(f"oplog writer failed earlier: {exc!r}")
                err.__cause__ = exc
                b._commit._resolve(err)
        self._pool = []

    # -- one round ----------------------------------------------------------

    def _commit_round(self, cand: list[Batch]) -> list[Batch]:
        store = self._store
        while True:
            txn = store._begin_write()
            recent = self._recent.begin()
            try:
                accepted, deferred, gen_ov, next_ov = self._select(txn, cand)
                wrote = self._apply(txn, accepted, recent)
                recent.migrate_if_full(txn, self._oplog_db)
                # Committed even when nothing was written (that does no I/O):
                # aborting is kept for errors, see OplogStore._abort_write.
                txn.commit()
                break
            except lmdb.MapFullError:
                store._abort_write(txn, grow=True)
            except BaseException:
                store._abort_write(txn, grow=False)
                raise
        self._recent.commit(recent)
        self._gen.update(gen_ov)
        self._next.update(next_ov)
        stats = store.stats
        if wrote:
            stats["commits"] += 1
        if recent.migrated:
            stats["migrations"] += 1
        n = entries = nbytes = 0
        for b in accepted:
            entries += b._nentries
            nbytes += b._nbytes
            if b._commit is not None:
                n += 1
        stats["batches"] += n
        stats["entries"] += entries
        stats["bytes"] += nbytes
        resolve_all([b._commit for b in accepted if b._commit is not None], None)
        if deferred:
            now = time.monotonic()
            for b in deferred:
                if b._waiting_since is None:
                    b._waiting_since = now
        return deferred

    def _select(self, txn, cand: list[Batch]):
        """Choose the batches to commit now; returns (accepted, deferred, gen overlay, next overlay).

        Accepted batches keep their submission order. A batch is deferred if an
        earlier deferred batch touched the same log or row, if it appends to a
        log generation whose deletion is still deferred, or if its entries
        would land after a hole no accepted batch fills.
        """
        gen_base = self._gen
        next_known = self._next
        forced: set[Batch] = set()
        while True:
            gen_ov: dict[str, int] = {}
            next_ov: dict[str, int] = {}
            blocked: set = set()
            accepted: list[Batch] = []
            deferred: list[Batch] = []
            slow: dict[tuple[str, int], list[Batch]] | None = None
            for b in cand:
                ok = not (forced and b in forced)
                touched = b._touched
                if ok and touched and blocked and not blocked.isdisjoint(touched):
                    ok = False
                ranges = b._ranges
                dead = None
                if ok and ranges:
                    for wk, r in ranges.items():
                        g = gen_ov.get(wk)
                        if g is None:
                            g = gen_base.get(wk, 0)
                        if r[0] != g:
                            if r[0] > g:
                                ok = False
                                break
                            if dead is None:
                                dead = {wk}
                            else:
                                dead.add(wk)
                if not ok:
                    deferred.append(b)
                    if touched:
                        blocked |= touched
                    continue
                b._dead = dead
                if ranges:
                    for wk, r in ranges.items():
                        if dead is not None and wk in dead:
                            continue
                        # Indexes start at 1: a miss is None, never 0.
                        nxt = next_ov.get(wk) or next_known.get(wk) or self._next_index(txn, wk)
                        if r[1] == nxt and r[2] - r[1] + 1 == r[3]:
                            next_ov[wk] = r[2] + 1
                        else:
                            if slow is None:
                                slow = {}
                            slow.setdefault((wk, r[0]), []).append(b)
                for wk, deletes, nxt in b._effects:
                    if deletes:
                        g = gen_ov.get(wk)
                        gen_ov[wk] = (gen_base.get(wk, 0) if g is None else g) + deletes
                    next_ov[wk] = nxt
                accepted.append(b)
            if slow is None or not self._check_holes(txn, slow, gen_ov, next_ov, forced):
                return accepted, deferred, gen_ov, next_ov

    def _check_holes(self, txn, slow, gen_ov, next_ov, forced: set[Batch]) -> bool:
        """Walk the out-of-order ranges; force-defer batches beyond a hole. True if any was."""
        gen_base = self._gen
        more = False
        for (wk, gen), batches in slow.items():
            g = gen_ov.get(wk)
            if (gen_base.get(wk, 0) if g is None else g) != gen:
                continue  # that log generation is deleted later in this transaction
            found = []
            for b in batches:
                for code, _db, key, _v, okey, ogen in b._ops:
                    if code == APPEND and okey == wk and ogen == gen:
                        found.append((int.from_bytes(key[-INDEX_WIDTH:], "big"), b))
            found.sort(key=lambda pair: pair[0])
            nxt = next_ov.get(wk)
            if nxt is None:
                nxt = self._next_index(txn, wk)
            i = 0
            while i < len(found) and found[i][0] == nxt:
                nxt += 1
                i += 1
            if i < len(found):
                for _index, b in found[i:]:
                    if b not in forced:
                        forced.add(b)
                        more = True
            else:
                next_ov[wk] = nxt
        return more

    def _next_index(self, txn, wk: str) -> int:
        nxt = self._next.get(wk)
        if nxt is None:
            prefix = wk.encode() + b"\0"
            nxt = max(self._store._range_last_index(txn, prefix), self._recent.last_index_now(prefix)) + 1
            self._next[wk] = nxt
        return nxt

    def _apply(self, txn, accepted: list[Batch], recent: RecentWrites) -> bool:
        # Each py-lmdb call releases the GIL, and with many appender threads
        # every release costs a wait to get it back: between two deletes, the
        # puts of each sub-database go down in one putmulti call. Puts to
        # different sub-databases commute; within one, their order is kept,
        # and a delete sees every put before it. Appends to logs the batch did
        # not create go to the recent table (see recent.py).
        wrote = False
        runs: dict = {}
        add_recent = recent.add
        for b in accepted:
            ops = b._ops
            if not ops:
                continue
            wrote = True
            dead = b._dead
            for code, db, key, value, wk, _gen in ops:
                if code == APPEND:
                    if dead is not None and wk in dead:
                        continue
                    if len(value) <= RECENT_MAX_VALUE:
                        add_recent(wk, key, value)
                        continue
                    # A large entry takes overflow pages of its own wherever it goes:
                    # straight into its log's range, not written twice.
                if code <= APPEND:
                    run = runs.get(db)
                    if run is None:
                        run = runs[db] = []
                    run.append((key, value))
                    continue
                _put_runs(txn, runs)
                recent.put(txn)
                if code == DEL:
                    txn.delete(key, db=db)
                elif code == DELLOG:
                    _delete_range(txn, db, key)
                    recent.drop_log(txn, wk, key)
        _put_runs(txn, runs)
        recent.put(txn)
        return wrote

    def _warn_waiting(self) -> None:
        now = time.monotonic()
        for b in self._pool:
            since = b._waiting_since
            if since is not None and now - since >= WAIT_WARNING_S:
                log.warning(
                    "oplog.batch_waiting_for_unsubmitted_index",
                    workers=sorted(b._ranges),
                    waited_s=round(now - since, 1),
                )
                b._waiting_since = now


def _put_runs(txn, runs: dict) -> None:
    """Write the collected puts, one putmulti per sub-database, and forget them."""
    for db, run in runs.items():
        txn.cursor(db=db).putmulti(run)
    runs.clear()


def _delete_range(txn, db, prefix: bytes) -> None:
    end = prefix[:-1] + b"\x01"
    cur = txn.cursor(db=db)
    if not cur.set_range(prefix):
        return
    while True:
        key = cur.key()
        if not key or key >= end:
            return
        if not cur.delete():
            return
