"""Scenario 8: suspended workers coming back.

Promises: 100 workers (quick: 20) each create a promise and await it in an
invoke-and-await, so each is suspended (its instance dropped); then, one at a time,
the promise is completed from outside with `complete_promise`, and the time from that
call to the awaiting caller's result is taken (commit, rebuild by replay, resume).
Baseline: the latency of a plain invoke-and-await on a live worker, same executor.

Sleeps: 100 workers (quick: 20) call `sleep-ms(2000)` at once; a sleep that long
suspends the worker and a timer wakes it, so the whole batch should take about 2 s.
"""

from __future__ import annotations

import asyncio
import time

from .common import COUNTER, Result, add_template, executor, percentile, run_alone

PROMISE = "golemite:promise/api"
SLEEP = "golemite:clocks-env/api/sleep-ms"
SLEEP_MS = 2000
GOAL_SLEEP_FACTOR = 1.5
SUSPEND_TIMEOUT = 30.0


async def _until_suspended(worker) -> None:
    deadline = time.monotonic() + SUSPEND_TIMEOUT
    while worker.status != "Suspended":
        if time.monotonic() > deadline:
            raise RuntimeError(f"worker {worker.key} did not suspend (status {worker.status})")
        await asyncio.sleep(0.002)


async def _promises(ex, n: int) -> list[float]:
    from executor import DEFAULT_ACCOUNT

    tid = await add_template(ex, "promise")
    waiting = []
    for i in range(n):
        name = f"p{i}"
        [pid] = await ex.invoke_and_await(DEFAULT_ACCOUNT, tid, name, f"{PROMISE}/create", [])
        task = asyncio.create_task(ex.invoke_and_await(DEFAULT_ACCOUNT, tid, name, f"{PROMISE}/await", [pid]))
        await _until_suspended(ex.get_worker(DEFAULT_ACCOUNT, tid, name))
        waiting.append((name, pid["oplog-idx"], task))
    latencies = []
    for name, idx, task in waiting:
        data = f"done {name}".encode()
        t0 = time.perf_counter()
        if not await ex.complete_promise(DEFAULT_ACCOUNT, tid, name, idx, data):
            raise RuntimeError(f"promise {idx} of worker {name} was already complete")
        result = await asyncio.wait_for(task, SUSPEND_TIMEOUT)
        latencies.append(time.perf_counter() - t0)
        if bytes(result[0]) != data:
            raise RuntimeError(f"worker {name} resumed with {result!r}, expected {data!r}")
    return latencies


async def _live_latencies(ex, n: int) -> list[float]:
    from executor import DEFAULT_ACCOUNT

    tid = await add_template(ex, "counter")
    await ex.invoke_and_await(DEFAULT_ACCOUNT, tid, "live", f"{COUNTER}/get", [])
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await ex.invoke_and_await(DEFAULT_ACCOUNT, tid, "live", f"{COUNTER}/get", [])
        out.append(time.perf_counter() - t0)
    return out


async def _sleeps(ex, n: int) -> float:
    from executor import DEFAULT_ACCOUNT

    tid = await add_template(ex, "clocks-env")
    names = [f"s{i}" for i in range(n)]
    await asyncio.gather(*(ex.invoke_and_await(DEFAULT_ACCOUNT, tid, w, "golemite:clocks-env/api/monotonic-now", [])
                           for w in names))
    t0 = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(ex.invoke_and_await(DEFAULT_ACCOUNT, tid, w, SLEEP, [SLEEP_MS])
                                            for w in names)), n * SLEEP_MS / 1e3 + 30)
    return time.perf_counter() - t0


async def scenario(quick: bool = False) -> Result:
    n = 20 if quick else 100
    result = Result("suspend", {"promise_workers": n, "sleep_workers": n, "sleep_ms": SLEEP_MS,
                                "durability": "sync", "guest_threads": 8,
                                "baseline": "promises: invoke-and-await on a live worker; sleeps: the sleep itself"})
    async with executor(guest_threads=8, max_live_workers=4 * n) as ex:
        resumed = await _promises(ex, n)
        live = await _live_latencies(ex, n)
        wall = await _sleeps(ex, n)
    for q in (50, 99):
        result.compare(f"promise_resume_p{q}_ms", percentile(resumed, q) * 1e3, percentile(live, q) * 1e3)
    sleep_s = SLEEP_MS / 1e3
    result.compare("sleep_wall_s", wall, sleep_s)
    result.goal("sleep_wall_s", f"about {sleep_s:g} s (<= {GOAL_SLEEP_FACTOR:g}x)", wall <= GOAL_SLEEP_FACTOR * sleep_s)
    return result


def main(argv: list[str] | None = None) -> int:
    return run_alone(scenario, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
