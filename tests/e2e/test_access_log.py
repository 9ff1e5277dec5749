"""The daemon's access log: one JSON line per request, written while the daemon runs."""

from __future__ import annotations

import time
import urllib.request

from tests.e2e.conftest import TOKEN, Daemon, free_port


def _wait_for_line(daemon, request_id: str, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in daemon.log_lines():
            if line.get("request_id") == request_id:
                return line
        time.sleep(0.02)
    raise AssertionError(f"no access-log line for request {request_id} within {timeout} s")


def _get(daemon, path: str, request_id: str, token: str = TOKEN) -> int:
    req = urllib.request.Request(daemon.base + path, headers={"Authorization": f"Bearer {token}",
                                                              "X-Request-Id": request_id})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_each_request_is_logged_at_once_as_one_json_line(daemon):
    tid = daemon.upload("counter")
    status, _ = daemon.invoke(tid, "w", "golemite:counter/api/increment")
    assert status == 200
    assert _get(daemon, f"/v1/templates/{tid}/workers/w", "req-ok") == 200
    line = _wait_for_line(daemon, "req-ok")  # while the daemon still runs: flushed, not buffered
    assert line["event"] == "request" and line["level"] == "info"
    assert line["method"] == "GET" and line["path"] == f"/v1/templates/{tid}/workers/w"
    assert line["status"] == 200 and line["duration_ms"] >= 0
    assert line["timestamp"].endswith("Z") and "T" in line["timestamp"]


def test_failed_requests_are_logged_with_their_status(daemon):
    assert _get(daemon, "/v1/templates/nope/workers/w", "req-404") == 404
    assert _get(daemon, "/v1/templates", "req-401", token="wrong") == 401
    assert _get(daemon, "/no/such/endpoint", "req-nf") == 404
    assert _wait_for_line(daemon, "req-404")["status"] == 404
    assert _wait_for_line(daemon, "req-401")["status"] == 401
    assert _wait_for_line(daemon, "req-nf")["status"] == 404


def test_log_level_warning_drops_the_request_lines(tmp_path):
    quiet = Daemon(tmp_path / "data", free_port())
    quiet.start("--log-level", "warning")
    try:
        assert _get(quiet, "/v1/templates", "req-quiet") == 200
        assert _get(quiet, "/v1/templates/nope/workers/w", "req-quiet-404") == 404
    finally:
        assert quiet.stop() == 0  # every line logged is written by the time it exits
    lines = quiet.log_lines()
    assert not [line for line in lines if line.get("level") in ("debug", "info")], lines
