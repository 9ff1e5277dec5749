"""End to end: suspended workers (promise, long sleep) survive SIGKILL and continue."""

from __future__ import annotations

import time

from tests.e2e.conftest import background

PROMISE = "golemite:promise/api"


def wait_for(d, tid, worker, status, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code, meta = d.request("GET", f"/v1/templates/{tid}/workers/{worker}")
        if code == 200 and meta["status"] == status:
            return meta
        time.sleep(0.05)
    raise AssertionError(f"{worker} never became {status}")


def test_promise_waiting_worker_survives_sigkill(daemon):
    tid = daemon.upload("promise")
    status, out = daemon.invoke(tid, "p", f"{PROMISE}/create")
    pid = out["result"][0]
    _, key = daemon.request("POST", f"/v1/templates/{tid}/workers/p/key")
    t, box = background(lambda: daemon.invoke(tid, "p", f"{PROMISE}/await", [pid], key=key["value"]))
    wait_for(daemon, tid, "p", "Suspended")
    daemon.kill()
    t.join(10)
    daemon.start()
    assert wait_for(daemon, tid, "p", "Suspended")["pendingInvocationCount"] >= 1
    assert daemon.request("POST", f"/v1/templates/{tid}/workers/p/complete",
                          {"oplogIdx": pid["oplog-idx"], "data": [1, 2, 3]}) == (200, True)
    assert daemon.invoke(tid, "p", f"{PROMISE}/await", [pid], key=key["value"]) == (200, {"result": [[1, 2, 3]]})
    assert daemon.request("POST", f"/v1/templates/{tid}/workers/p/complete",
                          {"oplogIdx": pid["oplog-idx"], "data": [9]}) == (200, False)


def test_long_sleep_survives_sigkill_and_wakes_on_time(daemon):
    tid = daemon.upload("clocks-env")
    _, key = daemon.request("POST", f"/v1/templates/{tid}/workers/s/key")
    started = time.monotonic()
    t, box = background(lambda: daemon.invoke(tid, "s", "golemite:clocks-env/api/sleep-ms", [2500],
                                     key=key["value"]))
    wait_for(daemon, tid, "s", "Suspended")
    daemon.kill()
    t.join(10)
    daemon.start()
    code, out = daemon.invoke(tid, "s", "golemite:clocks-env/api/sleep-ms", [2500], key=key["value"])
    assert code == 200 and out["result"][0] >= 2_500_000_000
    assert 2.4 <= time.monotonic() - started < 15
