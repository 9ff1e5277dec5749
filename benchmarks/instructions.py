"""Instructions per durable invocation, counted by callgrind: `python -m benchmarks.instructions`.

Wall-clock figures on a shared 2-core machine move by tens of percent between runs, so a
change that saves a few percent of the work per invocation cannot be seen in them.
Instruction counts vary far less (a few percent, as batching still follows the threads'
timing; the median of `--repeat` pairs steadies it): this runs the in-process closed loop of
`bench_invoke` (W workers, one caller each, durability "none" so no fsync time, on the
daemon's event loop) under `valgrind --tool=callgrind` twice, with N1 and N2 calls per
worker, and prints the difference divided by the extra calls, which leaves out start-up
and compilation. It counts every thread of the process (event loop, guest threads,
writer), not the kernel, and runs with the epoch ticker stopped (under valgrind its
5 ms ticks would fall on every few calls and make the count depend on how slowly the
run goes). Needs valgrind (Debian package `valgrind`); not part of
`make bench`. Keep W small: under valgrind each live instance's reservation of address
space counts, and 64 instances do not fit.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import subprocess
import sys

from .common import COUNTER, ROOT, add_template, env_for_child, executor, quiet_logs, run_on_daemon_loop


async def _closed_loop(workers: int, calls: int) -> None:
    from executor import DEFAULT_ACCOUNT

    async with executor(max_live_workers=workers + 16, guest_threads=8, durability="none") as ex:
        tid = await add_template(ex, "counter")
        fn = f"{COUNTER}/increment"
        names = [f"w{i}" for i in range(workers)]
        await asyncio.gather(*(ex.invoke_and_await(DEFAULT_ACCOUNT, tid, n, fn, []) for n in names))
        # Under valgrind a 5 ms tick falls on every few calls; stopped, the count does not
        # depend on how slowly the run goes.
        ex.runtime.ticker.stop()

        async def client(name: str) -> None:
            for _ in range(calls):
                await ex.invoke_and_await(DEFAULT_ACCOUNT, tid, name, fn, [])

        await asyncio.gather(*(client(n) for n in names))


def _count(workers: int, calls: int) -> int:
    """Instructions of a whole child run under callgrind."""
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-m", "benchmarks.instructions", "--child", str(workers), str(calls)],
        cwd=ROOT, env=env_for_child(), capture_output=True, text=True, timeout=900)
    found = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"callgrind run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--calls", type=int, nargs=2, default=(10, 50), metavar=("N1", "N2"),
                    help="calls per worker in the two runs")
    ap.add_argument("--repeat", type=int, default=3, help="pairs of runs; the median is reported")
    ap.add_argument("--child", type=int, nargs=2, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        quiet_logs()
        run_on_daemon_loop(_closed_loop(*args.child))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    small, large = args.calls
    if large <= small:
        ap.error("N2 must be larger than N1")
    counts = sorted((_count(args.workers, large) - _count(args.workers, small)) / (args.workers * (large - small))
                    for _ in range(max(1, args.repeat)))
    print(f"{statistics.median(counts):,.0f} instructions per invocation, median of {len(counts)} "
          f"[{counts[0]:,.0f}-{counts[-1]:,.0f}] ({args.workers} workers, {small} and {large} calls each, "
          f"durability none)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
