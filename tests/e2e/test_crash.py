"""End to end: the daemon is killed with SIGKILL and nothing acknowledged is lost."""

from __future__ import annotations

import time

from tests.e2e.conftest import background

COUNTER = "golemite:counter/api"


def test_state_and_keys_survive_sigkill(daemon):
    tid = daemon.upload("counter")
    for i in range(1, 6):
        assert daemon.invoke(tid, "w", f"{COUNTER}/increment") == (200, {"result": [i]})
    status, key = daemon.request("POST", f"/v1/templates/{tid}/workers/w/key")
    assert status == 200
    assert daemon.invoke(tid, "w", f"{COUNTER}/increment", key=key["value"]) == (200, {"result": [6]})
    status, key2 = daemon.request("POST", f"/v1/templates/{tid}/workers/w/key")
    daemon.kill()
    daemon.start()
    # The keyed call is not run again; the key created before the crash is still valid.
    assert daemon.invoke(tid, "w", f"{COUNTER}/increment", key=key["value"]) == (200, {"result": [6]})
    assert daemon.invoke(tid, "w", f"{COUNTER}/increment", key=key2["value"]) == (200, {"result": [7]})
    assert daemon.invoke(tid, "w", f"{COUNTER}/get") == (200, {"result": [7]})


def test_queued_invocations_survive_sigkill(daemon):
    tid = daemon.upload("counter")
    for _ in range(20):
        status, _ = daemon.request("POST", f"/v1/templates/{tid}/workers/q/invoke?function={COUNTER}/burn",
                                   {"params": [3_000_000]})
        assert status == 200
    daemon.kill()
    daemon.start()
    # Every acknowledged invoke runs exactly once after the restart, in order. Idle with
    # nothing pending shows only once the last completion is durable, so the oplog read
    # next holds every one of them.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, meta = daemon.request("GET", f"/v1/templates/{tid}/workers/q")
        if meta["pendingInvocationCount"] == 0 and meta["status"] == "Idle":
            break
        time.sleep(0.1)
    status, log = daemon.request("GET", f"/v1/templates/{tid}/workers/q/oplog?from=1&count=1000")
    started = [e for e in log["entries"] if e["type"] == "ExportedFunctionInvoked"]
    completed = [e for e in log["entries"] if e["type"] == "ExportedFunctionCompleted"]
    pending = [e["oplogIdx"] for e in log["entries"] if e["type"] == "PendingWorkerInvocation"]
    assert len(pending) == 20
    assert sorted(e["pendingIdx"] for e in started) == pending
    assert len({e["pendingIdx"] for e in started}) == 20
    assert len(completed) >= 20


def test_sigkill_mid_invocation_then_key_returns_result(daemon):
    tid = daemon.upload("interruption")
    status, key = daemon.request("POST", f"/v1/templates/{tid}/workers/slow/key")
    # The daemon dies under this request: that is the point.
    t, result = background(lambda: daemon.invoke(tid, "slow", "golemite:interruption/api/run", [6, 150],
                                                 key=key["value"]))
    time.sleep(0.5)
    daemon.kill()
    t.join(10)
    assert isinstance(result["r"], OSError)  # the first caller never got an answer
    daemon.start()
    # Recovery continues the invocation by itself; the key then yields its one result.
    assert daemon.invoke(tid, "slow", "golemite:interruption/api/run", [6, 150], key=key["value"],
                  timeout=60) == (200, {"result": [21]})
    status, log = daemon.request("GET", f"/v1/templates/{tid}/workers/slow/oplog?from=1&count=1000")
    assert sum(1 for e in log["entries"] if e["type"] == "ExportedFunctionInvoked") == 1


def test_sigterm_drains_and_exits_zero(daemon):
    tid = daemon.upload("counter")
    assert daemon.invoke(tid, "w", f"{COUNTER}/increment")[0] == 200
    assert daemon.stop() == 0
    daemon.start()
    assert daemon.invoke(tid, "w", f"{COUNTER}/increment") == (200, {"result": [2]})


def test_the_standard_asyncio_loop_and_thread_policy_serve_too(daemon):
    assert daemon.stop() == 0
    daemon.start("--event-loop", "asyncio", "--thread-policy", "normal")
    tid = daemon.upload("counter")
    assert daemon.invoke(tid, "w", f"{COUNTER}/increment") == (200, {"result": [1]})
    assert daemon.stop() == 0
    loops = [line["event_loop"] for line in daemon.log_lines() if line.get("event") == "golemite serving"]
    assert loops == ["uvloop", "asyncio"]  # the default, then the one asked for


def test_sigterm_mid_invocation_stops_cleanly_and_the_call_finishes_after_restart(daemon):
    tid = daemon.upload("interruption")
    status, key = daemon.request("POST", f"/v1/templates/{tid}/workers/long/key")
    t, _ = background(lambda: daemon.invoke(tid, "long", "golemite:interruption/api/run", [40, 100],
                                            key=key["value"]))
    time.sleep(0.5)
    started = time.monotonic()
    assert daemon.stop() == 0
    assert time.monotonic() - started < 15
    t.join(10)
    daemon.start()
    assert daemon.invoke(tid, "long", "golemite:interruption/api/run", [40, 100], key=key["value"],
                  timeout=60) == (200, {"result": [820]})
