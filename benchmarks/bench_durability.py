"""Scenario 4: what recording one host call costs.

`counter.random-calls(5000)` makes 5000 durable `wasi:random` calls, each recorded in
the oplog; `runtime.random-without-persistence(5000)` makes the same calls under
persist-nothing, recording none. Both run as in-process invoke-and-await on live,
warmed-up workers; the best of a few runs of each is kept (the least disturbed).
Figure: µs per recorded call = (t_durable − t_nothing) / 5000. Issue goal: ≤ 20 µs.
"""

from __future__ import annotations

import time

from .common import COUNTER, Result, add_template, executor, run_alone

CALLS = 5000
GOAL_US = 20.0
NOTHING = "golemite:runtime/api/random-without-persistence"


async def _best_of(ex, tid: str, worker: str, fn: str, repeats: int) -> float:
    from executor import DEFAULT_ACCOUNT

    await ex.invoke_and_await(DEFAULT_ACCOUNT, tid, worker, fn, [10])  # create and instantiate
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        await ex.invoke_and_await(DEFAULT_ACCOUNT, tid, worker, fn, [CALLS])
        best = min(best, time.perf_counter() - t0)
    return best


async def scenario(quick: bool = False) -> Result:
    repeats = 2 if quick else 5
    result = Result("durability", {"calls": CALLS, "repeats": repeats, "durability": "sync",
                                   "durable": f"{COUNTER}/random-calls", "baseline": NOTHING})
    async with executor(guest_threads=8) as ex:
        counter = await add_template(ex, "counter")
        runtime = await add_template(ex, "runtime")
        nothing = await _best_of(ex, runtime, "nothing", NOTHING, repeats)
        durable = await _best_of(ex, counter, "durable", f"{COUNTER}/random-calls", repeats)
    per_call_us = (durable - nothing) / CALLS * 1e6
    result.compare("durable_ms", durable * 1e3, nothing * 1e3)
    result.compare("us_per_recorded_call", per_call_us, None)
    result.goal("us_per_recorded_call", f"<= {GOAL_US:g} us", per_call_us <= GOAL_US)
    return result


def main(argv: list[str] | None = None) -> int:
    return run_alone(scenario, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
