"""SIGKILL a writer process at random moments: nothing it reported durable is lost.

The helper (crash_writer.py) prints "<worker> <index>" once an entry's commit
returned. After each kill the store is reopened and every log must be
contiguous from 1, hold every reported index, and decode completely with the
exact expected content. Later rounds continue the same logs.
"""

from __future__ import annotations

import importlib.util
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from oplog import OplogStore

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
HELPER = HERE / "crash_writer.py"

_spec = importlib.util.spec_from_file_location("oplog_crash_writer", HELPER)
crash_writer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(crash_writer)

ROUNDS = 4


def run_and_kill(path: Path, rng: random.Random) -> list[tuple[str, int]]:
    """Start the writer, let it run a random short while, SIGKILL it; returns what it reported."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, str(HELPER), str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    chunks: list[bytes] = []
    first = threading.Event()

    def pump() -> None:
        for chunk in iter(lambda: proc.stdout.read1(65536), b""):
            chunks.append(chunk)
            first.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        assert first.wait(20), proc.stderr.read1(65536) if proc.poll() is not None else "no output"
        time.sleep(rng.uniform(0.05, 0.5))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        reader.join(10)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    text = b"".join(chunks).decode()
    # A line cut by the kill is not a report.
    lines = text.split("\n")[:-1]
    return [(wk, int(i)) for wk, i in (line.split(" ") for line in lines)]


def test_sigkill_loses_no_reported_entry(tmp_path):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    path = tmp_path / "db"
    reported: dict[str, int] = {}
    for round_no in range(ROUNDS):
        got = run_and_kill(path, rng)
        assert got, f"round {round_no} reported nothing (seed {seed})"
        for wk, index in got:
            reported[wk] = max(reported.get(wk, 0), index)
        store = OplogStore(path)
        try:
            assert sorted(store.list_logs()) == sorted(crash_writer.WORKERS)
            for wk in crash_writer.WORKERS:
                stored = store.read(wk)  # decodes every entry: a torn one would raise
                indexes = [i for i, _ in stored]
                assert indexes == list(range(1, len(indexes) + 1)), f"gap in {wk} (seed {seed})"
                assert len(indexes) >= reported.get(wk, 0), f"{wk} lost reported entries (seed {seed})"
                for i, entry in stored:
                    assert entry == crash_writer.expected_entry(wk, i), (wk, i, seed)
                assert store.committed_last_index(wk) == len(indexes)
        finally:
            store.close()
    assert all(reported.get(wk, 0) > 1 for wk in crash_writer.WORKERS)
