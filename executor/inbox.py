"""Handing results from other threads to the event loop, many per wake-up.

`loop.call_soon_threadsafe` writes to the loop's wake-up pipe on every call: one system
call per finished invocation and another per settled commit. An inbox collects calls in
a deque and wakes the loop only when it goes from empty to non-empty, so a busy loop
drains a whole burst with one wake-up.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from typing import Any, Callable


class LoopInbox:
    __slots__ = ("_loop", "_items", "_scheduled", "_lock")

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._items: collections.deque = collections.deque()
        self._scheduled = False
        self._lock = threading.Lock()

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on the loop soon; callable from any thread."""
        self._items.append((fn, args))
        self._wake()

    def post_many(self, calls: list[tuple[Callable[..., Any], tuple]]) -> None:
        """Run each `fn(*args)` of `calls` on the loop soon, in order; callable from any thread."""
        self._items.extend(calls)
        self._wake()

    def _wake(self) -> None:
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop is closed: nobody is left to tell
            pass

    def _drain(self) -> None:
        with self._lock:
            self._scheduled = False
        items = self._items
        while items:
            fn, args = items.popleft()
            fn(*args)
