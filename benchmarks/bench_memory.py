"""Scenario 7: resident memory per live idle worker.

1,000 counter workers (quick: 200), each invoked once and kept live, against the same
number of plain wasmtime store + instance pairs, each called once. Each side runs in a
fresh child process so that earlier allocations in this one do not hide the growth;
the figure is (VmRSS after − VmRSS before) / N, with one warm worker created before
"before" so that engine, linker and code pages are not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys

from .common import (
    COUNTER, ROOT, Result, add_template, env_for_child, executor, quiet_logs, rss_bytes, run_on_daemon_loop,
)

BATCH = 50


async def _golemite_child(n: int) -> dict:
    from executor import DEFAULT_ACCOUNT

    inc = f"{COUNTER}/increment"
    async with executor(max_live_workers=n + 16, guest_threads=8) as ex:
        tid = await add_template(ex, "counter")
        await ex.invoke_and_await(DEFAULT_ACCOUNT, tid, "warm", inc, [])
        gc.collect()
        before = rss_bytes()
        for start in range(0, n, BATCH):
            names = [f"m{i}" for i in range(start, min(n, start + BATCH))]
            await asyncio.gather(*(ex.invoke_and_await(DEFAULT_ACCOUNT, tid, w, inc, []) for w in names))
        gc.collect()
        after = rss_bytes()
        live = sum(1 for w in ex.workers.values() if w.instance is not None)
    return {"before": before, "after": after, "n": n, "live": live}


def _raw_child(n: int) -> dict:
    from wasmtime import Engine
    from wasmtime import component as cm

    from .common import guest_path
    from .raw import RawGuest

    engine = Engine()
    component = cm.Component.from_file(engine, str(guest_path("counter")))
    warm = RawGuest("counter", engine, component)
    warm.call(warm.func(COUNTER, "increment"))
    gc.collect()
    before = rss_bytes()
    guests = []
    for _ in range(n):
        g = RawGuest("counter", engine, component)
        g.call(g.func(COUNTER, "increment"))
        guests.append(g)
    gc.collect()
    after = rss_bytes()
    return {"before": before, "after": after, "n": n, "live": len(guests)}


def _child(kind: str, n: int) -> dict:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_memory", "--child", kind, str(n)],
                          cwd=ROOT, env=env_for_child(), capture_output=True, text=True, timeout=300, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


async def scenario(quick: bool = False) -> Result:
    n = 200 if quick else 1000
    ours, base = await asyncio.to_thread(_child, "golemite", n), await asyncio.to_thread(_child, "raw", n)
    result = Result("memory", {"workers": n, "live_workers": ours["live"], "durability": "sync",
                               "baseline": "plain wasmtime Store + instance per worker, each called once"})
    per = (ours["after"] - ours["before"]) / n / 1024
    per_raw = (base["after"] - base["before"]) / n / 1024
    result.compare("rss_kib_per_worker", per, per_raw)
    result.compare("rss_mib_total", ours["after"] / 2**20, base["after"] / 2**20)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--child", nargs=2, metavar=("golemite|raw", "N"), help="internal: measure in this process")
    args = ap.parse_args(argv)
    quiet_logs()
    if args.child:
        kind, n = args.child[0], int(args.child[1])
        out = run_on_daemon_loop(_golemite_child(n)) if kind == "golemite" else _raw_child(n)
        print(json.dumps(out), flush=True)
        return 0
    print(run_on_daemon_loop(scenario(args.quick)).line(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
