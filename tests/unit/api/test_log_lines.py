"""The daemon's log lines: one JSON object per line, with a traceback only where one was given."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import types

import pytest
import structlog

from api import logging as golemite_logging


class _CountingStream:
    """A binary stream that records each write, to tell one write per line from one per turn."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.writes.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in b"".join(self.writes).splitlines()]


@pytest.fixture
def json_stream(monkeypatch):
    stream = _CountingStream()
    monkeypatch.setattr(sys, "stderr", types.SimpleNamespace(buffer=stream, isatty=lambda: False))
    golemite_logging.configure(json_logs=True)
    yield stream
    golemite_logging.detach_loop()
    structlog.reset_defaults()


def test_json_lines_carry_level_and_timestamp_and_a_traceback_only_on_errors(json_stream):
    log = structlog.get_logger("golemite.test")
    log.info("request", method="POST", status=200)
    try:
        raise ValueError("boom")
    except ValueError as exc:
        log.error("unexpected error", request_id="r1", exc_info=exc)
    ordinary, failure = json_stream.lines()
    assert ordinary["event"] == "request" and ordinary["level"] == "info" and ordinary["status"] == 200
    assert ordinary["timestamp"].endswith("Z") and "exception" not in ordinary
    assert failure["level"] == "error" and failure["request_id"] == "r1"
    assert "Traceback" in failure["exception"] and "ValueError: boom" in failure["exception"]


def test_the_direct_info_line_is_the_line_the_processor_chain_renders(json_stream):
    log = structlog.get_logger("golemite.test").bind(worker="w1")
    kw = {"method": "POST", "path": "/v1/x", "status": 200, "duration_ms": 1.25, "request_id": "r1"}
    log.info("request", **kw)  # the direct path
    log._proxy_to_logger("info", "request", **kw)  # structlog's processor chain
    direct, chained = json_stream.lines()
    assert list(direct) == list(chained) == ["worker", *kw, "event", "level", "timestamp"]
    assert {k: v for k, v in direct.items() if k != "timestamp"} == \
        {k: v for k, v in chained.items() if k != "timestamp"}
    assert direct["timestamp"].endswith("Z") and len(direct["timestamp"]) == len(chained["timestamp"])


def test_info_with_arguments_or_exc_info_still_goes_through_the_chain(json_stream):
    log = structlog.get_logger("golemite.test")
    log.info("answered %s of %d", "all", 3)
    log.info("caught", exc_info=ValueError("boom"))
    formatted, caught = json_stream.lines()
    assert formatted["event"] == "answered all of 3"
    assert "ValueError: boom" in caught["exception"] and "exc_info" not in caught


def test_info_lines_are_dropped_below_the_configured_level(monkeypatch):
    stream = _CountingStream()
    monkeypatch.setattr(sys, "stderr", types.SimpleNamespace(buffer=stream, isatty=lambda: False))
    golemite_logging.configure(json_logs=True, level="warning")
    try:
        log = structlog.get_logger("golemite.test")
        log.info("request", status=200)
        log.warning("slow", seconds=3)
        assert [line["event"] for line in stream.lines()] == ["slow"]
    finally:
        structlog.reset_defaults()


def test_loop_lines_are_written_once_per_turn_and_other_threads_lines_at_once(json_stream):
    log = structlog.get_logger("golemite.test")

    async def scenario() -> None:
        golemite_logging.attach_loop(asyncio.get_running_loop())
        for i in range(5):
            log.info("request", n=i)
        assert json_stream.writes == []  # collected until the turn ends
        helper = threading.Thread(target=lambda: log.warning("from a helper thread"))
        helper.start()
        helper.join()
        assert [line["event"] for line in json_stream.lines()] == ["from a helper thread"]
        await asyncio.sleep(0)  # the turn ends: the five lines leave in one write
        assert len(json_stream.writes) == 2
        assert [line.get("n") for line in json_stream.lines()[1:]] == [0, 1, 2, 3, 4]
        log.info("request", n=5)
        golemite_logging.detach_loop()  # written when serving ends, in the same turn
        assert json_stream.lines()[-1]["n"] == 5
        log.info("request", n=6)  # detached: written at once
        assert json_stream.lines()[-1]["n"] == 6

    asyncio.run(scenario())
