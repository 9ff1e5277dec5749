"""Shared helpers for tests that run golemite itself."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oplog import OplogStore

ROOT = Path(__file__).resolve().parents[1]
GUESTS = ROOT / "guests"


def guest_bytes(name: str) -> bytes:
    return (GUESTS / name / f"{name}.wasm").read_bytes()


def block_writer(store: OplogStore, monkeypatch, then=None):
    """Make the writer's next transaction wait until the returned function is called."""
    go = threading.Event()
    calls = {"n": 0}
    real = store._begin_write

    def begin():
        calls["n"] += 1
        if calls["n"] == 1:
            go.wait(30)
            return real()
        return then() if then is not None else real()

    monkeypatch.setattr(store, "_begin_write", begin)
    # An empty barrier batch would never open a transaction: write something.
    b = store.batch()
    b.put("meta", "__blocker__", 0)
    store.submit(b)
    deadline = time.monotonic() + 10
    while calls["n"] == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert calls["n"] == 1
    return go.set
