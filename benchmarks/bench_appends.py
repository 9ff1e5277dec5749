"""Scenario 3: durable oplog appends/s through the writer against raw py-lmdb (fsync on).

The measurements are `benchmarks.bench_oplog`'s: writer@N is N threads each appending
one entry per batch and waiting until it is durable; raw@N is plain py-lmdb with N
entries per fsynced commit. writer@1 is compared with raw@1, writer@64 with raw@64,
each the median of short slices taken in turn. If that module's functions are not importable, its `main` runs as a subprocess and its
JSON lines are parsed instead.
Issue goal (oplog): writer@64 reaches 50% of raw@64 and 20,000 durable entries/s.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from .common import ROOT, Result, env_for_child, median, run_alone, temp_dir

LEVELS = (1, 64)
GOAL_RATIO = 0.5
GOAL_RATE = 20_000


def _measure_in_process(rounds: int, seconds: float) -> dict[str, dict] | None:
    try:
        from . import bench_oplog
        bench_raw, bench_writer = bench_oplog.bench_raw, bench_oplog.bench_writer
    except (ImportError, AttributeError):
        return None
    # Short slices taken in turn, so a burst of load from other processes hits every
    # measurement alike; each figure is the median of its slices.
    slices: dict[str, list[dict]] = {}
    with temp_dir("appends") as root:
        for _ in range(rounds):
            for n in LEVELS:
                slices.setdefault(f"raw@{n}", []).append(bench_raw(n, seconds, root))
                slices.setdefault(f"writer@{n}", []).append(bench_writer(n, seconds, root))
    return {name: {key: median([r[key] for r in rows]) for key in ("entries_per_s", "commits_per_s", "seconds")}
            for name, rows in slices.items()}


def _measure_subprocess(quick: bool) -> dict[str, dict]:
    args = [sys.executable, "-m", "benchmarks.bench_oplog"] + (["--quick"] if quick else [])
    proc = subprocess.run(args, cwd=ROOT, env=env_for_child(), capture_output=True, text=True, timeout=300,
                          check=True)
    out = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            out[row.get("scenario", "")] = row
    return out


def _run(quick: bool) -> tuple[dict[str, dict], str]:
    rounds, seconds = (2, 0.5) if quick else (5, 0.6)
    rows = _measure_in_process(rounds, seconds)
    if rows is not None:
        return rows, "in-process"
    return _measure_subprocess(quick), "subprocess"


async def scenario(quick: bool = False) -> Result:
    # The measurements block on fsync in threads of their own; keep them off the loop.
    rows, how = await asyncio.to_thread(_run, quick)
    result = Result("appends", {"levels": list(LEVELS), "durability": "sync", "how": how,
                                "baseline": "py-lmdb, sync=True, N entries per commit",
                                "statistic": "median of interleaved slices" if how == "in-process" else "one run",
                                "seconds_per_slice": rows.get("writer@1", {}).get("seconds")})
    for n in LEVELS:
        ours = rows.get(f"writer@{n}", {}).get("entries_per_s")
        base = rows.get(f"raw@{n}", {}).get("entries_per_s")
        result.compare(f"appends_per_s@{n}", ours, base)
        commits = rows.get(f"writer@{n}", {}).get("commits_per_s")
        result.compare(f"commits_per_s@{n}", commits, rows.get(f"raw@{n}", {}).get("commits_per_s"))
    key = f"appends_per_s@{LEVELS[-1]}"
    rate = result.figures.get(key) or 0
    result.goal(key, f">= {GOAL_RATIO:.0%} of raw and >= {GOAL_RATE:,}/s",
                result.ratio.get(key, 0) >= GOAL_RATIO and rate >= GOAL_RATE)
    return result


def main(argv: list[str] | None = None) -> int:
    return run_alone(scenario, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
