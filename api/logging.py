"""structlog setup: JSON lines for production, readable lines in a terminal."""

from __future__ import annotations

import logging
import sys

import msgspec
import structlog


_encode = msgspec.json.Encoder(enc_hook=str).encode


def _json_line(obj, **_kw) -> str:
    return _encode(obj).decode()


def configure(json_logs: bool | None = None, level: str = "info") -> None:
    if json_logs is None:
        json_logs = not sys.stderr.isatty()
    # msgspec renders a log line several times faster than the json module.
    renderer = (structlog.processors.JSONRenderer(serializer=_json_line) if json_logs
                else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
