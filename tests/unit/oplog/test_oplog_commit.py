"""Commit handles: chained wake-ups never strand a waiter, whatever the timing."""

from __future__ import annotations

import random
import threading
import time

import pytest

from oplog import Commit
from oplog.commit import resolve_all


def test_every_patient_waiter_wakes_even_when_others_give_up():
    rng = random.Random(7)
    for _ in range(40):
        commits = [Commit() for _ in range(40)]
        outcome: dict[int, str] = {}
        lock = threading.Lock()

        def wait(i: int, timeout: float | None) -> None:
            try:
                commits[i].wait(timeout)
                result = "ok"
            except TimeoutError:
                result = "timeout"
            with lock:
                outcome[(i, timeout)] = result

        threads = []
        for i in range(len(commits)):
            # Some handles have no waiter, some one or two, some impatient ones.
            for _ in range(rng.choice([0, 1, 1, 2])):
                timeout = rng.choice([None, None, rng.uniform(0.0, 0.004)])
                threads.append(threading.Thread(target=wait, args=(i, timeout)))
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.0, 0.004))
        resolve_all(commits, None)
        deadline = time.monotonic() + 5
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in threads), "a waiter was stranded"
        assert all(r == "ok" for (i, timeout), r in outcome.items() if timeout is None)
        assert all(c.done() for c in commits)
        for c in commits:
            c.wait(0)  # resolved: returns at once


def test_error_reaches_thread_waiters_and_callbacks():
    c = Commit()
    boom = ValueError("x")
    seen = []
    c.add_done_callback(seen.append)
    errors = []

    def wait() -> None:
        try:
            c.wait(5)
        except ValueError as exc:
            errors.append(exc)

    ts = [threading.Thread(target=wait) for _ in range(3)]
    for t in ts:
        t.start()
    time.sleep(0.01)
    resolve_all([c], boom)
    for t in ts:
        t.join(5)
    assert errors == [boom, boom, boom]
    assert seen == [boom]
    with pytest.raises(ValueError):
        c.wait()


async def test_await_from_another_thread_resolution():
    c = Commit()
    threading.Timer(0.02, resolve_all, args=([c], None)).start()
    await c
    assert c.done()
