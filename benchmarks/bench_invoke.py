"""Scenario 1: in-process durable invoke-and-await throughput against raw wasmtime.

N workers of the counter guest, one closed-loop client per worker calling
`increment` under sync durability, for N in 1, 16, 64, 256 (quick: 1, 16, 64).
Baseline: the same export called in a loop under plain wasmtime, in the same run:
each level runs in slices, with a slice of the raw loop before each, so that the
machine's drift (tens of percent within a minute here) weighs on both alike.
Issue goal: 64 workers reach at least 30% of the raw call rate.

One more level runs 64 workers with durability "none" (no fsync, not crash-safe): it
separates waiting for the disk from the executor's own CPU cost per invocation.
"""

from __future__ import annotations

import asyncio
import time

from .common import (
    COUNTER, Deadline, Result, add_template, executor, percentile, run_alone, thread_cpu_seconds,
)
from . import raw

GOAL_WORKERS = 64
GOAL_RATIO = 0.30


async def _measure(ex, tid: str, workers: int, seconds: float, slices: int,
                   raw_loop: raw.RawCallLoop) -> tuple[float, float, list[float], list[float], dict[str, float]]:
    """(calls/s, raw calls/s in the slices between, the raw rate of each of those slices,
    latencies, CPU µs per call by thread kind)."""
    from executor import DEFAULT_ACCOUNT

    fn = f"{COUNTER}/increment"
    names = [f"c{workers}-{i}" for i in range(workers)]
    # Creating and instantiating each worker is cold-start cost, measured elsewhere.
    await asyncio.gather(*(ex.invoke_and_await(DEFAULT_ACCOUNT, tid, n, fn, []) for n in names))
    latencies: list[float] = []
    raw_calls, raw_seconds, first_slice = raw_loop.calls, raw_loop.seconds, len(raw_loop.slice_rates)
    elapsed = 0.0
    cpu_us: dict[str, float] = {}

    async def client(name: str, deadline: Deadline) -> None:
        while not deadline.passed():
            t0 = time.perf_counter()
            await ex.invoke_and_await(DEFAULT_ACCOUNT, tid, name, fn, [])
            latencies.append(time.perf_counter() - t0)

    for _ in range(slices):
        raw_loop.run(seconds / slices / 2)
        cpu_before = thread_cpu_seconds()
        start = time.perf_counter()
        deadline = Deadline(seconds / slices)
        await asyncio.gather(*(client(n, deadline) for n in names))
        elapsed += time.perf_counter() - start
        cpu_after = thread_cpu_seconds()
        # Where the CPU goes, per invocation and per kind of thread (the writer's includes
        # the kernel's work for its fsyncs, which does not hold the GIL).
        for kind in cpu_after:
            cpu_us[kind] = cpu_us.get(kind, 0.0) + (cpu_after[kind] - cpu_before.get(kind, 0.0)) * 1e6
    calls = max(1, len(latencies))
    raw_rate = (raw_loop.calls - raw_calls) / (raw_loop.seconds - raw_seconds)
    return (len(latencies) / elapsed, raw_rate, raw_loop.slice_rates[first_slice:], latencies,
            {k: v / calls for k, v in cpu_us.items()})


async def scenario(quick: bool = False) -> Result:
    levels = [1, 16, 64] if quick else [1, 16, 64, 256]
    seconds = 1.5 if quick else 4.0
    slices = 2 if quick else 4
    raw_loop = raw.RawCallLoop()
    result = Result("invoke", {"workers": levels, "seconds_per_level": seconds, "slices": slices,
                               "durability": "sync", "guest_threads": 8, "function": f"{COUNTER}/increment",
                               "baseline": "plain wasmtime call loop, one thread, in slices between "
                                           "each level's slices"})
    async with executor(max_live_workers=max(levels) + 16, guest_threads=8) as ex:
        tid = await add_template(ex, "counter")
        for n in levels:
            rate, raw_rate, raw_slices, lat, cpu_us = await _measure(ex, tid, n, seconds, slices, raw_loop)
            result.compare(f"calls_per_s@{n}", rate, raw_rate)
            result.compare(f"p50_ms@{n}", percentile(lat, 50) * 1e3, None)
            result.compare(f"p99_ms@{n}", percentile(lat, 99) * 1e3, None)
            if n == GOAL_WORKERS:
                # The goal's ratio is taken against this level's raw slices: their spread
                # says how steady that baseline was (not the whole run's, which also spans
                # the other levels).
                goal_slices = raw_slices
                for kind in ("loop", "guest", "writer"):
                    result.compare(f"cpu_us_per_call_{kind}@{n}", cpu_us.get(kind), None, digits=3)
    async with executor(durability="none", max_live_workers=GOAL_WORKERS + 16, guest_threads=8) as ex:
        tid = await add_template(ex, "counter")
        rate, raw_rate, _, _, _ = await _measure(ex, tid, GOAL_WORKERS, seconds, slices, raw_loop)
        result.compare(f"calls_per_s@{GOAL_WORKERS}_durability_none", rate, raw_rate)
    result.params["raw_calls"] = raw_loop.calls
    key = f"calls_per_s@{GOAL_WORKERS}"
    result.goal(key, f">= {GOAL_RATIO:.0%} of raw", result.ratio.get(key, 0) >= GOAL_RATIO,
                baseline_slices=goal_slices)
    return result


def main(argv: list[str] | None = None) -> int:
    return run_alone(scenario, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
