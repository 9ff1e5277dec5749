"""Guest threads run queued calls back to back (bursts); no finished call waits for a slow one.

With one guest thread, a short call and a slow call queued together run in the same
burst: the short one's answer must not wait until the slow one ends.
"""

from __future__ import annotations

import asyncio
import time

from executor import DEFAULT_ACCOUNT as A

COUNTER = "golemite:counter/api"
INTERRUPTION = "golemite:interruption/api"


async def _queued_together(h, first, second):
    """Start two calls in one loop step, so both are queued before the thread wakes."""
    return asyncio.ensure_future(h.call(*first)), asyncio.ensure_future(h.call(*second))


async def test_a_call_is_answered_while_the_next_one_spins(configured):
    h = await configured(guest_threads=1)
    counter, spinner = await h.template("counter"), await h.template("interruption")
    await h.call(counter, "c", f"{COUNTER}/increment")
    await h.call(spinner, "s", f"{INTERRUPTION}/run", [1, 1])  # both live: the fast path
    short, spin = await _queued_together(h, (counter, "c", f"{COUNTER}/increment"),
                                         (spinner, "s", f"{INTERRUPTION}/spin"))
    assert await asyncio.wait_for(short, 5) == [2]
    assert not spin.done()
    assert await h.ex.interrupt(A, spinner, "s", False) is True
    try:
        await asyncio.wait_for(spin, 5)
    except Exception as e:  # noqa: BLE001 - the interrupted caller hears of it
        assert "interrupt" in str(e)
    # Interrupted is a resting state: the thread is free, the counter goes on.
    assert await h.call(counter, "c", f"{COUNTER}/increment") == [3]


async def test_a_worker_goes_on_while_the_call_after_it_sleeps(configured):
    # Three threads, so a short sleep holds its thread (with fewer it would suspend);
    # the pool wakes another only when the first makes no progress.
    h = await configured(guest_threads=3)
    counter, sleeper = await h.template("counter"), await h.template("interruption")
    await h.call(counter, "c", f"{COUNTER}/increment")
    await h.call(sleeper, "z", f"{INTERRUPTION}/run", [1, 1])
    started = time.monotonic()
    # A 250 ms sleep is below the harness's short-sleep threshold: it holds the thread.
    short, sleep = await _queued_together(h, (counter, "c", f"{COUNTER}/increment"),
                                          (sleeper, "z", f"{INTERRUPTION}/run", [1, 250]))
    assert await asyncio.wait_for(short, 5) == [2]
    # The counter's next call runs on the other thread while the sleeper still sleeps:
    # the first thread handed on the counter's finished call before it went to sleep.
    assert await asyncio.wait_for(h.call(counter, "c", f"{COUNTER}/increment"), 5) == [3]
    answered = time.monotonic() - started
    assert not sleep.done(), "the sleeper cannot be done before the counter's calls are answered"
    assert answered < 0.2
    assert await asyncio.wait_for(sleep, 5) == [1]
    assert time.monotonic() - started >= 0.25


async def test_many_workers_in_one_burst_each_get_their_own_result(configured):
    h = await configured(guest_threads=1)
    tid = await h.template("counter")
    names = [f"w{i}" for i in range(40)]  # more than one burst's worth
    await asyncio.gather(*(h.call(tid, n, f"{COUNTER}/increment") for n in names))
    for round_ in range(2, 5):
        results = await asyncio.gather(*(h.call(tid, n, f"{COUNTER}/increment") for n in names))
        assert results == [[round_]] * len(names)
    # Everything each caller was told is in its own worker's log, in order.
    await h.reopen()
    assert [await h.call(tid, n, f"{COUNTER}/get") for n in names] == [[4]] * len(names)
