"""GuestPool: which thread runs a call, and that a blocked guest never holds up the others."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from executor.guest_pool import GuestPool
from executor.inbox import LoopInbox


async def test_calls_one_after_another_run_on_the_thread_that_ran_last():
    # A wake-up goes to the most recently idle thread: a quiet stream of calls keeps one
    # thread warm instead of turning all of them in rotation.
    pool = GuestPool(4)
    inbox = LoopInbox(asyncio.get_running_loop())
    try:
        await _all_idle(pool)  # new threads fall idle in any order; from then on, the rule holds
        ran_on = [await pool.run(inbox, threading.get_ident) for _ in range(12)]
    finally:
        pool.shutdown()
    assert len(set(ran_on)) == 1


async def _all_idle(pool: GuestPool, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while pool._awake:
        assert time.monotonic() < deadline, "the pool's threads did not all fall idle"
        await asyncio.sleep(0.001)


async def test_a_blocked_call_does_not_hold_up_the_next_one():
    pool = GuestPool(2, nudge_after=0.01)
    inbox = LoopInbox(asyncio.get_running_loop())
    release = threading.Event()
    try:
        blocked = pool.run(inbox, release.wait, 10)
        first = await pool.run(inbox, threading.get_ident)
        assert not blocked.done()
        # The pool has only two threads: with the other one free again, calls keep flowing.
        assert [await pool.run(inbox, threading.get_ident) for _ in range(3)] == [first] * 3
        release.set()
        assert await blocked is True
    finally:
        release.set()
        pool.shutdown()


async def test_shutdown_stops_every_thread_busy_or_idle():
    pool = GuestPool(3)
    inbox = LoopInbox(asyncio.get_running_loop())
    gate = threading.Event()
    busy = pool.run(inbox, gate.wait, 5)
    await asyncio.sleep(0.01)
    gate.set()
    await busy
    pool.shutdown()
    assert not any(t.is_alive() for t in pool._threads)


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="SCHED_BATCH is Linux's")
@pytest.mark.parametrize(("policy", "expected"), [("batch", "SCHED_BATCH"), ("normal", "SCHED_OTHER")])
async def test_guest_threads_run_under_the_chosen_policy(policy, expected):
    pool = GuestPool(2, thread_policy=policy)
    inbox = LoopInbox(asyncio.get_running_loop())
    try:
        assert await pool.run(inbox, os.sched_getscheduler, 0) == getattr(os, expected)
    finally:
        pool.shutdown()
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the event loop's thread is left alone
