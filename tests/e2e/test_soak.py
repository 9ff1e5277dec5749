"""Soak: keyed invocations under repeated SIGKILLs are applied exactly once (slow; `make test-slow`)."""

from __future__ import annotations

import random
import threading
import time

import pytest

COUNTER = "golemite:counter/api"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_keyed_increments_survive_repeated_sigkill_exactly_once(daemon):
    tid = daemon.upload("counter")
    rng = random.Random(7)
    keys: list[str] = []
    for _ in range(300):
        status, key = daemon.request("POST", f"/v1/templates/{tid}/workers/soak/key")
        assert status == 200
        keys.append(key["value"])
    acknowledged: dict[str, int] = {}
    lock = threading.Lock()

    def client(mine: list[str]) -> None:
        for key in mine:
            while True:
                try:
                    status, out = daemon.request(
                        "POST", f"/v1/templates/{tid}/workers/soak/invoke-and-await"
                        f"?function={COUNTER}/increment&invocation-key={key}", {"params": []}, timeout=30)
                except OSError:
                    time.sleep(0.05)  # the daemon is down: retry the same key
                    continue
                if status == 200:
                    with lock:
                        acknowledged[key] = out["result"][0]
                    break
                time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(keys[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for _ in range(8):
        time.sleep(rng.uniform(0.1, 0.6))
        daemon.kill()
        daemon.start()
    for t in threads:
        t.join(120)
    assert len(acknowledged) == len(keys)
    # Exactly once: every key saw a distinct counter value, and the counter equals the number of keys.
    assert sorted(acknowledged.values()) == list(range(1, len(keys) + 1))
    status, out = daemon.request("POST", f"/v1/templates/{tid}/workers/soak/invoke-and-await?function={COUNTER}/get",
                                 {"params": []})
    assert out == {"result": [len(keys)]}
