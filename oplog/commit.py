"""Commit: the handle of a submitted batch, resolved by the writer thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Generator
from typing import Any

import structlog

log = structlog.get_logger(__name__)

# Guards `_done`/`_callbacks` only at the moment a callback is registered or
# the handle resolves, so a callback added concurrently with resolution runs
# exactly once. Shared: both sections are a few attribute accesses long.
_CALLBACK_LOCK = threading.Lock()


class Commit:
    """Handle of a submitted batch.

    Resolved once, on the writer thread, after the LMDB transaction that holds
    the batch committed (error None) or failed (the error). Waiting is cheap:
    one pre-acquired lock per handle, released at resolution.
    """

    __slots__ = ("_callbacks", "_done", "_error", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._done = False
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[BaseException | None], None]] | None = None

    def done(self) -> bool:
        """True once the batch is durable or has failed."""
        return self._done

    def wait(self, timeout: float | None = None) -> None:
        """Block until resolved; raise the commit's error, or TimeoutError after `timeout` s."""
        if not self._done:
            if not self._lock.acquire(timeout=-1 if timeout is None else timeout):
                raise TimeoutError(f"oplog commit not durable after {timeout} s")
            # Hand the lock on so every other waiter of this handle wakes too.
            self._lock.release()
        if self._error is not None:
            raise self._error

    def add_done_callback(self, fn: Callable[[BaseException | None], None]) -> None:
        """Call `fn(error_or_None)` on the writer thread at resolution, or now if already resolved."""
        with _CALLBACK_LOCK:
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
        """Writer thread only: record the outcome, wake waiters, run callbacks."""
        with _CALLBACK_LOCK:
            self._error = error
            self._done = True
            callbacks = self._callbacks
            self._callbacks = None
        self._lock.release()
        if callbacks:
            for fn in callbacks:
                try:
                    fn(error)
                except Exception:
                    # A faulty callback must not take the writer thread down.
                    log.exception("oplog.commit_callback_failed")


def _settle(fut: asyncio.Future, error: BaseException | None) -> None:
    if not fut.done():
        # The error is raised by Commit.__await__ itself, so each awaiter
        # raises the same exception from its own frame.
        fut.set_result(error)
