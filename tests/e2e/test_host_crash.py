"""End to end: suspended workers (promise, long sleep) survive SIGKILL and continue."""

from __future__ import annotations

import threading
import time

PROMISE = "golemite:promise/api"


def call(d, tid, worker, fn, params=(), key=None, timeout=30):
    q = f"?function={fn}" + (f"&invocation-key={key}" if key else "")
    return d.request("POST", f"/v1/templates/{tid}/workers/{worker}/invoke-and-await{q}",
                     {"params": list(params)}, timeout=timeout)


def wait_for(d, tid, worker, status, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code, meta = d.request("GET", f"/v1/templates/{tid}/workers/{worker}")
        if code == 200 and meta["status"] == status:
            return meta
        time.sleep(0.05)
    raise AssertionError(f"{worker} never became {status}")


def background(fn):
    box = {}

    def run():
        try:
            box["r"] = fn()
        except OSError as e:
            box["r"] = e
    t = threading.Thread(target=run)
    t.start()
    return t, box


def test_promise_waiting_worker_survives_sigkill(daemon):
    tid = daemon.upload("promise")
    status, out = call(daemon, tid, "p", f"{PROMISE}/create")
    pid = out["result"][0]
    _, key = daemon.request("POST", f"/v1/templates/{tid}/workers/p/key")
    t, box = background(lambda: call(daemon, tid, "p", f"{PROMISE}/await", [pid], key=key["value"]))
    wait_for(daemon, tid, "p", "Suspended")
    daemon.kill()
    t.join(10)
    daemon.start()
    assert wait_for(daemon, tid, "p", "Suspended")["pendingInvocationCount"] >= 1
    assert daemon.request("POST", f"/v1/templates/{tid}/workers/p/complete",
                          {"oplogIdx": pid["oplog-idx"], "data": [1, 2, 3]}) == (200, True)
    assert call(daemon, tid, "p", f"{PROMISE}/await", [pid], key=key["value"]) == (200, {"result": [[1, 2, 3]]})
    assert daemon.request("POST", f"/v1/templates/{tid}/workers/p/complete",
                          {"oplogIdx": pid["oplog-idx"], "data": [9]}) == (200, False)


def test_long_sleep_survives_sigkill_and_wakes_on_time(daemon):
    tid = daemon.upload("clocks-env")
    _, key = daemon.request("POST", f"/v1/templates/{tid}/workers/s/key")
    started = time.monotonic()
    t, box = background(lambda: call(daemon, tid, "s", "golemite:clocks-env/api/sleep-ms", [2500],
                                     key=key["value"]))
    wait_for(daemon, tid, "s", "Suspended")
    daemon.kill()
    t.join(10)
    daemon.start()
    code, out = call(daemon, tid, "s", "golemite:clocks-env/api/sleep-ms", [2500], key=key["value"])
    assert code == 200 and out["result"][0] >= 2_500_000_000
    assert 2.4 <= time.monotonic() - started < 15
