"""Scenario 5: rebuilding a worker by replay, against running its history live.

Speed-up: a counter worker gets 10,000 `increment` invocations (quick: 2,000), sent
concurrently so the worker runs them back to back (the live run at its fastest, group
commits and all). Then its instance is dropped and one `get` call rebuilds it; one
live `get` call's cost is subtracted. Goal: replay at least 5x faster than live.

Entries/s: a second worker's history is mostly host calls (`random-calls(5000)`
invocations); its rebuild time gives host-call entries replayed per second, beside the
rate at which the same log is only read and decoded (`store.read`). Goal: ≥ 50,000/s.
"""

from __future__ import annotations

import asyncio
import time

from .common import COUNTER, Result, add_template, executor, median, run_alone

GOAL_SPEEDUP = 5.0
GOAL_ENTRIES = 50_000
BATCH = 500
RANDOM_CALLS = 5000


async def _rebuild_seconds(ex, tid: str, name: str) -> tuple[float, float]:
    """Wall time of drop + first `get` minus a live `get`; and the executor's replay-only time."""
    from executor import DEFAULT_ACCOUNT

    get = f"{COUNTER}/get"
    live = []
    for _ in range(5):
        t0 = time.perf_counter()
        await ex.invoke_and_await(DEFAULT_ACCOUNT, tid, name, get, [])
        live.append(time.perf_counter() - t0)
    worker = ex.get_worker(DEFAULT_ACCOUNT, tid, name)
    worker.drop_instance()
    replay_before = ex.metrics["replay_seconds"]
    t0 = time.perf_counter()
    await ex.invoke_and_await(DEFAULT_ACCOUNT, tid, name, get, [])
    rebuild = time.perf_counter() - t0 - median(live)
    return rebuild, ex.metrics["replay_seconds"] - replay_before


async def scenario(quick: bool = False) -> Result:
    from executor import DEFAULT_ACCOUNT

    invocations = 2000 if quick else 10_000
    random_invocations = 4 if quick else 20
    result = Result("replay", {"invocations": invocations, "durability": "sync",
                               "host_call_history": f"{random_invocations} x random-calls({RANDOM_CALLS})",
                               "baseline": "live run of the same invocations; store.read of the same log"})
    async with executor(guest_threads=8) as ex:
        tid = await add_template(ex, "counter")
        inc = f"{COUNTER}/increment"
        await ex.invoke_and_await(DEFAULT_ACCOUNT, tid, "inc", inc, [])
        t0 = time.perf_counter()
        for done in range(1, invocations, BATCH):
            n = min(BATCH, invocations - done)
            await asyncio.gather(*(ex.invoke_and_await(DEFAULT_ACCOUNT, tid, "inc", inc, []) for _ in range(n)))
        live = time.perf_counter() - t0
        rebuild, _ = await _rebuild_seconds(ex, tid, "inc")
        result.compare("rebuild_s", rebuild, live)
        speedup = live / rebuild if rebuild > 0 else None
        result.compare("replay_speedup", speedup, None)
        result.goal("replay_speedup", f">= {GOAL_SPEEDUP:g}x faster than live",
                    speedup is not None and speedup >= GOAL_SPEEDUP)

        rnd = f"{COUNTER}/random-calls"
        for _ in range(random_invocations):
            await ex.invoke_and_await(DEFAULT_ACCOUNT, tid, "rnd", rnd, [RANDOM_CALLS])
        key = ex.get_worker(DEFAULT_ACCOUNT, tid, "rnd").key
        t0 = time.perf_counter()
        entries = len(ex.store.read(key))
        read = time.perf_counter() - t0
        rebuild_rnd, replay_only = await _rebuild_seconds(ex, tid, "rnd")
    rate = entries / rebuild_rnd if rebuild_rnd > 0 else None
    result.params["host_call_entries"] = entries
    result.compare("host_entries_per_s", rate, entries / read if read > 0 else None)
    result.compare("host_entries_per_s_replay_only", entries / replay_only if replay_only > 0 else None, None)
    result.goal("host_entries_per_s", f">= {GOAL_ENTRIES:,}/s", rate is not None and rate >= GOAL_ENTRIES)
    return result


def main(argv: list[str] | None = None) -> int:
    return run_alone(scenario, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
