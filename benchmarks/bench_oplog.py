"""Oplog writer throughput against raw LMDB, measured in the same run.

Scenarios (sync durability, entries with a ~100-byte payload):
- writer@N: N threads, each appending one entry per batch to its own worker
  and waiting until that batch is durable, for N in 1, 8, 64;
- raw@1 and raw@64: plain py-lmdb on a fresh sync=True environment, one
  entry per commit and 64 entries per commit.

Prints one JSON line per scenario, then a summary line with the ratio
writer@64 / raw@64-per-commit. Run: python -m benchmarks.bench_oplog [--quick]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import lmdb

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from oplog import Create, ImportedFunctionInvoked, OplogStore, encode_entry  # noqa: E402

PAYLOAD = "x" * 100


def _entry() -> ImportedFunctionInvoked:
    return ImportedFunctionInvoked(
        timestamp=time.time_ns(), function="wasi:clocks/wall-clock.now", response=PAYLOAD, kind="read-local"
    )


def bench_writer(threads: int, seconds: float, root: Path) -> dict:
    """Durable entries/s with `threads` appenders, each waiting for its own commit."""
    path = Path(tempfile.mkdtemp(prefix="writer-", dir=root))
    store = OplogStore(path, durability="sync")
    try:
        setup = store.batch()
        keys = [f"bench/w{i}" for i in range(threads)]
        for i, key in enumerate(keys):
            setup.create_log(key)
            setup.append(key, Create(template_id="bench", template_version=0, worker_name=f"w{i}", account_id="a"))
        store.submit(setup).wait()
        before = dict(store.stats)
        counts = [0] * threads
        stop = threading.Event()
        start_barrier = threading.Barrier(threads + 1)

        def run(i: int) -> None:
            key = keys[i]
            n = 0
            start_barrier.wait()
            while not stop.is_set():
                b = store.batch()
                b.append(key, _entry())
                store.submit(b).wait()
                n += 1
            counts[i] = n

        workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
        for t in workers:
            t.start()
        start_barrier.wait()
        t0 = time.perf_counter()
        time.sleep(seconds)
        stop.set()
        for t in workers:
            t.join()
        elapsed = time.perf_counter() - t0
        entries = sum(counts)
        commits = store.stats["commits"] - before["commits"]
        return {
            "scenario": f"writer@{threads}",
            "threads": threads,
            "entries": entries,
            "commits": commits,
            "seconds": round(elapsed, 3),
            "entries_per_s": round(entries / elapsed, 1),
            "commits_per_s": round(commits / elapsed, 1),
            "batches_per_commit": round(entries / commits, 2) if commits else None,
        }
    finally:
        store.close()
        shutil.rmtree(path, ignore_errors=True)


def bench_raw(per_commit: int, seconds: float, root: Path) -> dict:
    """Raw py-lmdb: `per_commit` entries per fsynced write transaction."""
    path = Path(tempfile.mkdtemp(prefix="raw-", dir=root))
    env = lmdb.open(str(path), map_size=256 << 20, sync=True, metasync=True, max_dbs=4)
    db = env.open_db(b"oplog")
    try:
        prefix = b"bench/raw\0"
        index = 0
        entries = commits = 0
        t0 = time.perf_counter()
        deadline = t0 + seconds
        while time.perf_counter() < deadline:
            with env.begin(write=True, db=db) as txn:
                for _ in range(per_commit):
                    index += 1
                    txn.put(prefix + index.to_bytes(8, "big"), encode_entry(_entry()), append=True)
            entries += per_commit
            commits += 1
        elapsed = time.perf_counter() - t0
        return {
            "scenario": f"raw@{per_commit}",
            "entries_per_commit": per_commit,
            "entries": entries,
            "commits": commits,
            "seconds": round(elapsed, 3),
            "entries_per_s": round(entries / elapsed, 1),
            "commits_per_s": round(commits / elapsed, 1),
        }
    finally:
        env.close()
        shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 2 s per scenario instead of 5")
    parser.add_argument("--dir", type=Path, default=None, help="where to create the databases (default: system temp)")
    args = parser.parse_args(argv)
    seconds = 2.0 if args.quick else 5.0
    root = Path(tempfile.mkdtemp(prefix="bench-oplog-", dir=args.dir))
    results = {}
    try:
        for per_commit in (1, 64):
            r = bench_raw(per_commit, seconds, root)
            results[r["scenario"]] = r
            print(json.dumps(r), flush=True)
        for threads in (1, 8, 64):
            r = bench_writer(threads, seconds, root)
            results[r["scenario"]] = r
            print(json.dumps(r), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    writer64 = results["writer@64"]["entries_per_s"]
    raw64 = results["raw@64"]["entries_per_s"]
    summary = {
        "scenario": "summary",
        "writer64_entries_per_s": writer64,
        "raw64_entries_per_s": raw64,
        "ratio_writer64_over_raw64": round(writer64 / raw64, 3) if raw64 else None,
        "goal_ratio_0.5_met": raw64 > 0 and writer64 / raw64 >= 0.5,
        "goal_20000_per_s_met": writer64 >= 20000,
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
