"""Walks a worker's recorded oplog during replay, handing out the guest-driven entries.

Entries written by the outside world (queued invocations, promise completions) or by
the executor's bookkeeping (suspends, errors, interrupts) are not something the guest
asks for, so the cursor steps over them; so does every index inside a `Jump` region and
inside an atomic region that never ended (it must run again, whole and live).
"""

from __future__ import annotations

from oplog import (
    BeginAtomicRegion, CompletePromise, Create, EndAtomicRegion, Entry, Error, Interrupted,
    InvocationRejected, Jump, NoOp, PendingWorkerInvocation, Resume, Suspend,
)

# Entries the guest never asks for: replay steps over them. Checked as `type(e) in
# BOOKKEEPING`, not isinstance: entry classes are leaves of one union, and isinstance on
# a class with msgspec's metaclass takes CPython's slow path, once per class in a tuple
# (about 1 µs per entry for these ten, which replay pays for every entry, twice).
BOOKKEEPING = frozenset((Create, PendingWorkerInvocation, InvocationRejected, CompletePromise, Suspend,
                         Interrupted, Resume, Error, NoOp, Jump))


def skipped_indexes(entries: list[tuple[int, Entry]]) -> set[int]:
    """Indexes that replay must ignore: jumped-over regions and unfinished atomic regions."""
    return replay_plan(entries)[0]


def replay_plan(entries: list[tuple[int, Entry]]) -> tuple[set[int], list[tuple[int, int]]]:
    """The indexes replay ignores, and the atomic regions abandoned at the end of the log.

    A region abandoned (the worker crashed or was interrupted inside it) runs again whole
    and live: its entries are skipped, and the caller records that with a `Jump` over them
    before the region runs again, so that no later replay takes the first run's Begin for
    a region still open. A region the worker suspended inside (a sleep, a promise) is not
    abandoned: replay goes through it and the guest goes on from where it suspended.
    """
    skip: set[int] = set()
    for idx, e in entries:
        if type(e) is Jump:
            skip.update(range(e.start, e.end + 1))
    open_regions: dict[int, int] = {}
    last = entries[-1][0] if entries else 0
    guest_at = stopped_at = suspended_at = 0
    for idx, e in entries:
        if idx in skip:
            continue
        if type(e) is BeginAtomicRegion:
            open_regions[idx] = idx
        elif type(e) is EndAtomicRegion:
            open_regions.pop(e.begin_index, None)
        elif type(e) is Error and open_regions:
            # A failure inside an atomic region: the region runs again whole.
            for begin in list(open_regions):
                skip.update(range(begin, idx))
            open_regions.clear()
        if type(e) is Suspend:
            suspended_at = idx
        elif type(e) is Interrupted or type(e) is Error:
            stopped_at = idx
        elif type(e) not in BOOKKEEPING:
            guest_at = idx
    abandoned: list[tuple[int, int]] = []
    if open_regions and suspended_at <= max(guest_at, stopped_at):
        # Still open at the end of the log, and not because the guest is suspended in it.
        begin = min(open_regions)
        skip.update(range(begin, last + 1))
        abandoned.append((begin, last))
    return skip, abandoned


class ReplayCursor:
    """Position in the recorded log; `next()` gives the next guest-driven entry or None."""

    __slots__ = ("abandoned", "entries", "pos", "skip")

    def __init__(self, entries: list[tuple[int, Entry]], skip: set[int] | None = None):
        self.entries = entries
        self.pos = 0
        self.abandoned: list[tuple[int, int]] = []
        if skip is None:
            skip, self.abandoned = replay_plan(entries)
        self.skip = skip

    def _advance(self) -> None:
        entries, skip = self.entries, self.skip
        n = len(entries)
        while self.pos < n:
            idx, e = entries[self.pos]
            if idx in skip or type(e) in BOOKKEEPING:
                self.pos += 1
                continue
            return

    def peek(self) -> tuple[int, Entry] | None:
        self._advance()
        if self.pos < len(self.entries):
            return self.entries[self.pos]
        return None

    def next(self) -> tuple[int, Entry] | None:
        item = self.peek()
        if item is not None:
            self.pos += 1
        return item

    @property
    def exhausted(self) -> bool:
        return self.peek() is None

    def live(self) -> None:
        """Drop what is left: from here on every call runs live."""
        self.pos = len(self.entries)
