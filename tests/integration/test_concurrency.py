"""Concurrent first calls and creations: one worker each, every call answered once."""

from __future__ import annotations

import asyncio

import pytest

from executor import DEFAULT_ACCOUNT as A
from executor import AlreadyExists, NotFound

COUNTER = "golemite:counter/api"


async def test_concurrent_first_calls_share_one_new_worker(harness):
    tid = await harness.template("counter")
    results = await asyncio.gather(*[harness.call(tid, f"w{i % 4}", f"{COUNTER}/increment") for i in range(32)])
    assert sorted(r[0] for r in results) == sorted(list(range(1, 9)) * 4)
    for i in range(4):
        assert await harness.call(tid, f"w{i}", f"{COUNTER}/get") == [8]


async def test_concurrent_first_calls_of_a_new_worker_run_in_the_order_they_came(harness):
    tid = await harness.template("counter")
    for round_ in range(3):
        name = f"fifo{round_}"
        results = await asyncio.gather(*[harness.call(tid, name, f"{COUNTER}/increment") for _ in range(8)])
        # The first caller creates the worker; those arriving while its Create commits
        # queue behind its call, not ahead of it.
        assert [r[0] for r in results] == list(range(1, 9))


async def test_concurrent_explicit_creates_one_wins(harness):
    tid = await harness.template("counter")
    outcomes = await asyncio.gather(*[harness.ex.create_worker(A, tid, "same") for _ in range(5)],
                                    return_exceptions=True)
    assert sum(1 for o in outcomes if isinstance(o, AlreadyExists)) == 4
    assert await harness.call(tid, "same", f"{COUNTER}/increment") == [1]


async def test_delete_a_worker_in_the_middle_of_a_call(harness):
    tid = await harness.template("interruption")
    await harness.call(tid, "d", "golemite:interruption/api/run", [1, 1])  # live instance: fast path
    call = asyncio.ensure_future(harness.call(tid, "d", "golemite:interruption/api/spin"))
    await asyncio.sleep(0.2)
    assert harness.ex.get_worker(A, tid, "d").status == "Running"
    await asyncio.wait_for(harness.ex.delete_worker(A, tid, "d"), 15)
    # The running call's caller hears what a queued call's caller hears: deleted (404).
    with pytest.raises(NotFound, match=f"worker {tid}.d was deleted"):
        await asyncio.wait_for(call, 5)
    assert harness.ex.store.read(f"{tid}/d") == []
    assert await harness.call(tid, "d", "golemite:interruption/api/run", [2, 1]) == [3]


async def test_a_worker_recreated_while_its_deletion_commits_is_the_one_kept(harness):
    # A call arriving while the delete's batch commits may create the name afresh (the
    # store already counts the old log as gone). The delete then removed that new worker
    # from the executor's map: it ran on as an orphan, a later call built a third worker
    # from the row, and two instances appended to one log (a race audit: acknowledged
    # invokes ran twice, and the next replay failed the worker).
    tid = await harness.template("counter")
    key = f"{tid}/d"
    for _ in range(20):
        await harness.call(tid, "d", f"{COUNTER}/increment")
        deleting = asyncio.ensure_future(harness.ex.delete_worker(A, tid, "d"))
        invokes = []
        while not deleting.done():  # one invoke per turn of the loop, all through the delete
            invokes.append(asyncio.ensure_future(harness.ex.invoke(A, tid, "d", f"{COUNTER}/increment", [])))
            await asyncio.sleep(0)
        await deleting
        acknowledged = sum(1 for r in await asyncio.gather(*invokes, return_exceptions=True) if r is None)
        if harness.ex.store.get("workers", key) is None:
            assert acknowledged == 0 and key not in harness.ex.workers
            continue
        # Re-created: the registered worker is the one with the log, and it runs every
        # acknowledged invoke exactly once.
        worker = harness.ex.workers[key]
        assert not worker.deleted
        assert await harness.call(tid, "d", f"{COUNTER}/get") == [acknowledged]
        await harness.ex.delete_worker(A, tid, "d")
