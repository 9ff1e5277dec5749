"""The threads that run guest code, fed from the event loop.

Guest calls are usually short (tens of microseconds), and waking a different thread for
each one mostly buys contention for the GIL: on 2 cores one busy thread draining the
queue did twice the calls per second of eight threads taking turns. So the pool wakes a
thread only when none is running, and then the one that ran last; if calls wait longer
than `nudge_after` seconds (a running guest is long or blocked), it wakes another, up to
`threads` at once, so a slow guest never holds up the others. Results go back through a
loop inbox, many per wake-up. Guest code never runs on the event loop.

A thread that finds more calls waiting runs them back to back as a *burst*: their
results (and, through `executor.worker_log.LogBurst`, their oplog entries) leave the
thread together when the queue runs dry, after `MAX_BURST` calls, or as soon as a
guest runs long or blocks (`flush_current_burst`), so a finished call never waits for
a slow one.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from typing import Any, Callable

from oplog import DEFAULT_THREAD_POLICY, check_thread_policy, prepare_helper_thread

from .inbox import LoopInbox

_STOP = object()
_IDLE = object()

# Calls run back to back before their results are handed on. More amortizes the hand-off
# further but delays the first result of the burst.
MAX_BURST = 64

_local = threading.local()


class Burst:
    """What one guest thread finished since it last handed results to the loop.

    The results are the owner thread's alone (only it adds and flushes them), so they
    need no lock; `lock` guards what a subclass shares with other threads.
    """

    def __init__(self) -> None:
        self.owner = threading.get_ident()   # made on the thread it serves
        self.lock = threading.Lock()
        self.results: list = []
        self.results_inbox: LoopInbox | None = None

    def add_result(self, inbox: LoopInbox, done: Callable, result: Any, error: BaseException | None) -> None:
        self.results_inbox = inbox
        self.results.append((done, (result, error)))

    def pending(self) -> int:
        return len(self.results)

    def flush(self) -> None:
        """Hand everything finished to the loop (a subclass first submits what it wrote)."""
        results, self.results = self.results, []
        if results:
            inbox = self.results_inbox
            assert inbox is not None  # set by every add_result
            inbox.post_many(results)


def current_burst() -> Burst | None:
    """The burst of the guest thread calling this, or None off the pool."""
    return getattr(_local, "burst", None)


def flush_current_burst() -> None:
    """A guest is about to block or runs long: let what this thread finished go now."""
    burst = current_burst()
    if burst is not None and burst.pending():
        burst.flush()


def _set_result(fut: asyncio.Future, value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _set_exception(fut: asyncio.Future, exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


class GuestPool:
    def __init__(self, threads: int, name: str = "golemite-guest", nudge_after: float = 0.002,
                 make_burst: Callable[[], Burst] = Burst, thread_policy: str = DEFAULT_THREAD_POLICY):
        self._make_burst = make_burst
        self._thread_policy = check_thread_policy(thread_policy)
        self._items: collections.deque = collections.deque()
        self._lock = threading.Lock()
        # The wake-up locks of the threads waiting for work, the last one to fall idle on
        # top: a wake-up goes to the thread that ran most recently (its stack and data are
        # still in the cache), not, as a Condition would, to the one idle longest, which
        # turned all the threads in rotation. Each is held while its thread sleeps on it.
        self._idle: list[threading.Lock] = []
        self._awake = max(1, threads)  # threads not waiting for work (counted by whoever wakes them)
        self._finished = 0         # guest calls finished so far (progress, for the nudge)
        self._seen = 0
        self._nudge_after = nudge_after
        self._nudge: asyncio.TimerHandle | None = None
        self._threads = [threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True)
                         for i in range(max(1, threads))]
        for t in self._threads:
            t.start()

    def _run(self) -> None:
        prepare_helper_thread(self._thread_policy)
        lock, items, idle = self._lock, self._items, self._idle
        wake = threading.Lock()
        wake.acquire()
        burst = _local.burst = self._make_burst()
        while True:
            lock.acquire()  # not `with`, which costs twice as much: this runs per call
            try:
                if items:
                    item = items.popleft()
                elif burst.pending():
                    item = None  # the queue ran dry: hand on the burst before sleeping
                else:
                    self._awake -= 1
                    idle.append(wake)
                    item = _IDLE
            finally:
                lock.release()
            if item is _IDLE:
                wake.acquire()  # until _wake_one releases it (and counted us awake)
                continue
            if item is None:
                burst.flush()
                continue
            if item is _STOP:
                burst.flush()
                return
            inbox, done, fn, args = item
            try:
                result = fn(*args)
            except BaseException as e:  # noqa: BLE001 - handed to the awaiting coroutine
                burst.add_result(inbox, done, None, e)
            else:
                burst.add_result(inbox, done, result, None)
            self._finished += 1  # a progress counter for the nudge: a lost race only delays it
            if len(burst.results) >= MAX_BURST:
                burst.flush()
            # Drop references before blocking again: an idle thread must not keep the
            # last result (e.g. a dropped instance) alive.
            item = inbox = done = fn = args = result = None

    def run(self, inbox: LoopInbox, fn: Callable[..., Any], *args: Any) -> asyncio.Future:
        """Run `fn(*args)` on a guest thread; the returned future resolves through `inbox`."""
        fut = asyncio.get_running_loop().create_future()

        def done(result: Any, error: BaseException | None) -> None:
            if error is not None:
                _set_exception(fut, error)
            else:
                _set_result(fut, result)
        self.call(inbox, done, fn, *args)
        return fut

    def call(self, inbox: LoopInbox, done: Callable[[Any, BaseException | None], None],
             fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on a guest thread, then `done(result, error)` on the loop."""
        loop = asyncio.get_running_loop()
        lock = self._lock
        lock.acquire()  # not `with`, which costs twice as much: this runs per call
        try:
            self._items.append((inbox, done, fn, args))
            if self._awake == 0:
                self._wake_one()
            elif self._nudge is None:
                self._seen = self._finished
                self._nudge = loop.call_later(self._nudge_after, self._nudge_if_waiting, loop)
        finally:
            lock.release()

    def _nudge_if_waiting(self, loop: asyncio.AbstractEventLoop) -> None:
        """Calls queued and no call finished for a while: the running guests are slow (or
        blocked), so wake one more thread. A backlog that is draining needs no help."""
        self._nudge = None
        with self._lock:
            if not self._items:
                return
            if self._finished == self._seen and self._awake < len(self._threads):
                self._wake_one()
            self._seen = self._finished
        self._nudge = loop.call_later(self._nudge_after, self._nudge_if_waiting, loop)

    def scarce(self) -> bool:
        """Are (nearly) all threads taken? Then a guest should not block one to sleep."""
        return self._awake >= len(self._threads) - 1

    def _wake_one(self) -> None:
        # Counted as awake now, not when it runs: a second call arriving before the
        # woken thread gets going must not wake yet another one.
        self._awake += 1
        self._idle.pop().release()

    def shutdown(self) -> None:
        with self._lock:
            for _ in self._threads:
                self._items.append(_STOP)
            self._awake = len(self._threads)
            while self._idle:
                self._idle.pop().release()
        for t in self._threads:
            t.join(timeout=10)
        if self._nudge is not None:
            self._nudge.cancel()
