"""Worker objects at rest are forgotten, and a forgotten worker comes back as it was."""

from __future__ import annotations

import asyncio
import gc
import random

import pytest

from executor import DEFAULT_ACCOUNT, InvocationFailed
from tests.integration.test_host_api import PROMISE, wait_status

A = DEFAULT_ACCOUNT
COUNTER = "golemite:counter/api"


async def sweep_until_forgotten(ex, count: int) -> None:
    """Sweep until `count` objects were forgotten. A failure's row commits just after its
    caller hears of it, and a finished call's frames may wait in a reference cycle (an
    exception's traceback) for the collector: both keep a worker for a moment, rightly."""
    forgotten = 0
    for _ in range(200):
        gc.collect()
        forgotten += ex.sweep_workers()
        if forgotten >= count:
            break
        await asyncio.sleep(0.01)
    assert forgotten == count


def evict_all(ex) -> None:
    for w in list(ex.workers.values()):
        if w.busy() is None:
            w.drop_instance()


async def test_workers_at_rest_are_forgotten_and_come_back_as_they_were(configured):
    h = await configured(max_live_workers=2)
    tid = await h.template("counter")
    for i in range(10):
        for _ in range(i + 1):
            await h.call(tid, f"w{i}", f"{COUNTER}/increment")
    assert len(h.ex.workers) == 10
    assert h.ex.store.tracked_logs() == 10
    assert h.ex.sweep_workers() == 8  # the two with an instance stay
    assert len(h.ex.workers) == 2
    assert h.ex.store.tracked_logs() == 2, "the forgotten workers' logs are forgotten too"
    for i in range(10):
        assert h.ex.get_worker(A, tid, f"w{i}").metadata_record().status == "Idle"
        assert await h.call(tid, f"w{i}", f"{COUNTER}/get") == [i + 1]
        assert await h.call(tid, f"w{i}", f"{COUNTER}/increment") == [i + 2]
    assert h.ex.metrics["workers_forgotten"] == 8


async def test_a_worker_something_refers_to_is_not_forgotten(harness):
    tid = await harness.template("counter")
    await harness.call(tid, "held", f"{COUNTER}/increment")
    held = harness.ex.workers[f"{tid}/held"]
    held.drop_instance()
    assert held.at_rest()
    assert harness.ex.sweep_workers() == 0  # `held` is a reference nobody else knows of
    assert harness.ex.workers[f"{tid}/held"] is held
    del held
    assert harness.ex.sweep_workers() == 1
    assert f"{tid}/held" not in harness.ex.workers


async def test_a_keyed_call_stays_exactly_once_across_forgetting(harness):
    tid = await harness.template("counter")
    key = await harness.ex.new_key(A, tid, "k")
    assert await harness.call(tid, "k", f"{COUNTER}/increment", key=key) == [1]
    evict_all(harness.ex)
    assert harness.ex.sweep_workers() == 1
    assert await harness.call(tid, "k", f"{COUNTER}/increment", key=key) == [1]  # the first result
    assert await harness.call(tid, "k", f"{COUNTER}/get") == [1]


async def test_a_suspended_worker_is_kept_until_its_promise_completes(harness):
    tid = await harness.template("promise")
    pid = (await harness.call(tid, "p", f"{PROMISE}/create"))[0]
    waiter = asyncio.ensure_future(harness.call(tid, "p", f"{PROMISE}/await", [pid]))
    await wait_status(harness, tid, "p", "Suspended")
    evict_all(harness.ex)
    assert harness.ex.sweep_workers() == 0
    assert await harness.ex.complete_promise(A, tid, "p", pid["oplog-idx"], b"hi") is True
    assert await asyncio.wait_for(waiter, 10) == [list(b"hi")]
    del waiter  # the finished task no longer matters
    evict_all(harness.ex)
    await sweep_until_forgotten(harness.ex, 1)


async def test_a_failed_worker_is_still_failed_once_forgotten(harness):
    tid = await harness.template("failing")
    with pytest.raises(InvocationFailed):
        await harness.call(tid, "f", "golemite:failing/api/overflow", [1 << 40])  # stack overflow: for good
    assert harness.ex.get_worker(A, tid, "f").status == "Failed"
    evict_all(harness.ex)
    await sweep_until_forgotten(harness.ex, 1)
    again = harness.ex.get_worker(A, tid, "f")
    assert again.status == "Failed" and again.last_error
    del again
    with pytest.raises(InvocationFailed, match="previous invocation failed"):
        await harness.call(tid, "f", "golemite:failing/api/get")


async def test_sweeping_all_the_time_under_load_loses_and_repeats_nothing(configured):
    # A sweep every millisecond while calls, evictions and queued invokes go on: a second
    # object for a worker someone still uses would run its calls twice or lose them.
    h = await configured(max_live_workers=3, sweep_seconds=0.001)
    tid = await h.template("counter")
    rng = random.Random(7)
    expected = {f"s{i}": 0 for i in range(24)}

    async def client(n: int) -> None:
        for _ in range(40):
            name = rng.choice(list(expected))
            expected[name] += 1
            if rng.random() < 0.25:
                await h.ex.invoke(A, tid, name, f"{COUNTER}/increment", [])
            else:
                await h.call(tid, name, f"{COUNTER}/increment")
            if rng.random() < 0.2:
                await asyncio.sleep(0.002)

    await asyncio.gather(*(client(n) for n in range(8)))
    for name, count in expected.items():
        assert await h.call(tid, name, f"{COUNTER}/get") == [count], name
    assert h.ex.metrics["workers_forgotten"] > 0, "the sweeps forgot none meanwhile"
