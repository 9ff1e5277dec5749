"""structlog setup: JSON lines for production, readable lines in a terminal."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from typing import Any, BinaryIO

import msgspec
import structlog


_encode = msgspec.json.Encoder(enc_hook=str).encode


def _json_line(obj, **_kw) -> bytes:
    return _encode(obj)


class _IsoTimestamp:
    """`timestamp` as ISO 8601 UTC with microseconds, like structlog's TimeStamper(fmt="iso",
    utc=True), at a quarter of its cost: the date and time of day are formatted once per
    second, not per line (there is one access-log line per request)."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, _logger, _name, event_dict):
        now = time.time_ns()
        second, nanos = divmod(now, 1_000_000_000)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        event_dict["timestamp"] = f"{self._prefix}.{nanos // 1000:06d}Z"
        return event_dict


def _format_exc_info(logger, name, event_dict):
    """structlog's format_exc_info, skipped for the lines without exc_info (nearly all)."""
    if "exc_info" in event_dict:
        return structlog.processors.format_exc_info(logger, name, event_dict)
    return event_dict


class LineSink:
    """The stream JSON lines go to, written once per turn of the event loop for the lines
    logged on the loop's thread.

    The daemon logs a line per request. Written one at a time that is a system call each;
    lines logged on the loop's thread are collected instead and written together by a
    callback at the end of the loop's current turn, so a burst of answers costs one
    write and each line still leaves within the turn it was logged in. Lines from
    other threads, and every line while no loop is attached, are written at once: no
    line waits on a loop that is busy or gone. (So a helper thread's line can come out
    just before a loop line logged a moment earlier; each carries its timestamp.)

    structlog calls the logger method named after the level; every one writes the line.
    """

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._lines: list[bytes] = []  # touched only on the loop's thread
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._lock = threading.Lock()  # one writer of the stream at a time

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """From now on, collect the lines logged on `loop`'s thread (call it on that thread)."""
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def detach(self) -> None:
        """Write what is collected and go back to writing every line at once."""
        self._loop = None
        self._loop_thread = None
        self.flush()

    def msg(self, message: bytes) -> None:
        loop = self._loop
        if loop is not None and threading.get_ident() == self._loop_thread:
            lines = self._lines
            lines.append(message)
            if len(lines) == 1:
                loop.call_soon(self.flush)
            return
        self._write(message + b"\n")

    log = debug = info = warn = warning = err = error = critical = exception = fatal = failure = msg

    def flush(self) -> None:
        lines = self._lines
        if lines:
            data = b"\n".join(lines) + b"\n"
            lines.clear()
            self._write(data)

    def _write(self, data: bytes) -> None:
        self._lock.acquire()
        try:
            self._stream.write(data)
            self._stream.flush()
        finally:
            self._lock.release()


_sink: LineSink | None = None


def attach_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Collect the JSON lines logged on `loop`'s thread and write them once per turn
    (see LineSink); nothing to do for console lines. Call it on the loop's thread."""
    if _sink is not None:
        _sink.attach(loop)


def detach_loop() -> None:
    """Write the collected lines; lines are written one by one again."""
    if _sink is not None:
        _sink.detach()


def _json_bound_logger(min_level: int, stamp: _IsoTimestamp) -> type:
    """structlog's filtering bound logger, with `info` rendering a plain line itself.

    The processor chain costs about as much again as the line's rendering: several
    Python calls and a dict copy per line, and the daemon logs one per request. For an
    info line without positional arguments or exc_info, `info` does what the chain of
    `configure` does, in one function: the bound context, the keywords, the event, the
    level, the timestamp, rendered by msgspec. Anything else goes through the chain.
    tests/unit/api/test_log_lines.py keeps the two lines alike.
    """
    base = structlog.make_filtering_bound_logger(min_level)
    if min_level > logging.INFO:
        return base

    class JsonBoundLogger(base):  # type: ignore[misc, valid-type]
        def info(self, event: str, *args: Any, **kw: Any) -> Any:
            if args or "exc_info" in kw:
                return super().info(event, *args, **kw)
            context = self._context
            if context:
                line = context.copy()
                line.update(kw)
            else:
                line = kw  # this call's own dict of keywords
            line["event"] = event
            line["level"] = "info"
            stamp(None, None, line)
            self._logger.msg(_encode(line))
            return None

    return JsonBoundLogger


def configure(json_logs: bool | None = None, level: str = "info") -> None:
    global _sink
    if json_logs is None:
        json_logs = not sys.stderr.isatty()
    min_level = logging.getLevelName(level.upper())
    stamp = _IsoTimestamp()
    if json_logs:
        # msgspec renders a log line several times faster than the json module, and
        # the bytes go straight to the stream: no str round trip per line.
        renderer = structlog.processors.JSONRenderer(serializer=_json_line)
        sink = _sink = LineSink(sys.stderr.buffer)
        factory: Any = lambda *_args: sink  # noqa: E731 - structlog wants a factory
        wrapper = _json_bound_logger(min_level, stamp)
    else:
        _sink = None
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        factory = structlog.PrintLoggerFactory(file=sys.stderr)
        wrapper = structlog.make_filtering_bound_logger(min_level)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            stamp,
            _format_exc_info,
            renderer,
        ],
        wrapper_class=wrapper,
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
