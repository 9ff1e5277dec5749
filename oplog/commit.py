"""Commit: the handle of a submitted batch, resolved by the writer thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Generator, Iterable
from typing import Any

import structlog

log = structlog.get_logger(__name__)

# Guards the small shared state of every handle (done, waiters, callbacks,
# baton) so registration and resolution never miss each other. Each critical
# section is a few attribute accesses long.
_STATE_LOCK = threading.Lock()


class Commit:
    """Handle of a submitted batch.

    Resolved once, on the writer thread, after the LMDB transaction that holds
    the batch committed (error None) or failed (the error).

    Thread waiters block on a per-handle lock. When a group commit resolves
    many handles that have waiting threads, they are woken one after another
    (each woken waiter wakes the next) rather than all at once: a herd of
    threads woken together only fights over the GIL, and that costs more CPU
    than the wake-ups themselves.
    """

    __slots__ = ("_baton", "_callbacks", "_done", "_error", "_lock", "_next", "_waiters")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._done = False
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[BaseException | None], None]] | None = None
        self._waiters = 0
        self._next: Commit | None = None
        self._baton = False

    def done(self) -> bool:
        """True once the batch is durable or has failed."""
        return self._done

    def wait(self, timeout: float | None = None) -> None:
        """Block until resolved; raise the commit's error, or TimeoutError after `timeout` s."""
        if not self._done:
            with _STATE_LOCK:
                registered = not self._done
                if registered:
                    self._waiters += 1
            if registered:
                got = False
                try:
                    got = self._lock.acquire(timeout=-1 if timeout is None else timeout)
                finally:
                    if got:
                        # Hand the lock on to any other waiter of this handle,
                        # then wake the next handle of the chain.
                        self._lock.release()
                        _pass(self._next)
                    else:
                        with _STATE_LOCK:
                            self._waiters -= 1
                            baton = self._baton
                        if baton:
                            # Our turn came as we gave up: keep the chain going.
                            _pass(self._next)
                if not got and not self._done:
                    raise TimeoutError(f"oplog commit not durable after {timeout} s")
        if self._error is not None:
            raise self._error

    def add_done_callback(self, fn: Callable[[BaseException | None], None]) -> None:
        """Call `fn(error_or_None)` on the writer thread at resolution, or now if already resolved."""
        with _STATE_LOCK:
            if not self._done:
                if self._callbacks is None:
                    self._callbacks = [fn]
                else:
                    self._callbacks.append(fn)
                return
        fn(self._error)

    def __await__(self) -> Generator[Any, None, None]:
        if not self._done:
            loop = asyncio.get_running_loop()
            fut = loop.create_future()

            def wake(error: BaseException | None) -> None:
                try:
                    loop.call_soon_threadsafe(_settle, fut, error)
                except RuntimeError:
                    pass  # the loop closed; nobody is left to wake

            self.add_done_callback(wake)
            yield from fut.__await__()
        if self._error is not None:
            raise self._error

    def _resolve(self, error: BaseException | None) -> None:
        """Writer thread only: resolve this handle alone."""
        resolve_all((self,), error)


def resolve_all(commits: Iterable[Commit], error: BaseException | None) -> None:
    """Writer thread only: resolve handles, wake their waiters in a chain, run callbacks."""
    chain: list[Commit] = []
    callbacks: list[tuple[Callable, BaseException | None]] = []
    with _STATE_LOCK:
        for c in commits:
            c._error = error
            c._done = True
            if c._callbacks:
                callbacks.extend((fn, error) for fn in c._callbacks)
                c._callbacks = None
            if c._waiters:
                chain.append(c)
            else:
                # Nobody blocks on it; a later wait() sees _done and returns.
                c._baton = True
                c._lock.release()
    if chain:
        for a, b in zip(chain, chain[1:]):
            a._next = b
        _pass(chain[0])
    for fn, err in callbacks:
        try:
            fn(err)
        except Exception:
            # A faulty callback must not take the writer thread down.
            log.exception("oplog.commit_callback_failed")


def _pass(c: Commit | None) -> None:
    """Wake the first handle of a chain that still has a waiter; release the others on the way."""
    while c is not None:
        with _STATE_LOCK:
            if c._baton:
                return  # someone else already carries the chain from here
            c._baton = True
            waiting = c._waiters > 0
        c._lock.release()
        if waiting:
            return  # that waiter passes it on when it wakes
        c = c._next


def _settle(fut: asyncio.Future, error: BaseException | None) -> None:
    if not fut.done():
        # The error is raised by Commit.__await__ itself, so each awaiter
        # raises the same exception from its own frame.
        fut.set_result(error)
