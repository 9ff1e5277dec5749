"""Concurrent first calls and creations: one worker each, every call answered once."""

from __future__ import annotations

import asyncio

from executor import DEFAULT_ACCOUNT as A
from executor import AlreadyExists

COUNTER = "golemite:counter/api"


async def test_concurrent_first_calls_share_one_new_worker(harness):
    tid = await harness.template("counter")
    results = await asyncio.gather(*[harness.call(tid, f"w{i % 4}", f"{COUNTER}/increment") for i in range(32)])
    assert sorted(r[0] for r in results) == sorted(list(range(1, 9)) * 4)
    for i in range(4):
        assert await harness.call(tid, f"w{i}", f"{COUNTER}/get") == [8]


async def test_concurrent_explicit_creates_one_wins(harness):
    tid = await harness.template("counter")
    outcomes = await asyncio.gather(*[harness.ex.create_worker(A, tid, "same") for _ in range(5)],
                                    return_exceptions=True)
    assert sum(1 for o in outcomes if isinstance(o, AlreadyExists)) == 4
    assert await harness.call(tid, "same", f"{COUNTER}/increment") == [1]
