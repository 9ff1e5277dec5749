"""The daemon's log lines: one JSON object per line, with a traceback only where one was given."""

from __future__ import annotations

import io
import json
import sys
import types

import pytest
import structlog

from api import logging as golemite_logging


@pytest.fixture
def stderr_lines(monkeypatch):
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stderr", types.SimpleNamespace(buffer=raw, isatty=lambda: False))
    golemite_logging.configure(json_logs=True)
    yield lambda: [json.loads(line) for line in raw.getvalue().splitlines()]
    structlog.reset_defaults()


def test_json_lines_carry_level_and_timestamp_and_a_traceback_only_on_errors(stderr_lines):
    log = structlog.get_logger("golemite.test")
    log.info("request", method="POST", status=200)
    try:
        raise ValueError("boom")
    except ValueError as exc:
        log.error("unexpected error", request_id="r1", exc_info=exc)
    ordinary, failure = stderr_lines()
    assert ordinary["event"] == "request" and ordinary["level"] == "info" and ordinary["status"] == 200
    assert ordinary["timestamp"].endswith("Z") and "exception" not in ordinary
    assert failure["level"] == "error" and failure["request_id"] == "r1"
    assert "Traceback" in failure["exception"] and "ValueError: boom" in failure["exception"]
