"""The interruption guest under plain wasmtime: sleeping steps and an endless spin."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from wasmtime import Config, Store, WasmtimeError

Load = Callable[..., Any]
API = "golemite:interruption/api"


def test_run_prints_each_step_and_returns_their_sum(guest: Load) -> None:
    g = guest("interruption")
    assert g.call(API, "run", 3, 1) == 6
    assert g.stdout_text() == "step 1\nstep 2\nstep 3\n"


def test_run_with_no_steps_does_nothing(guest: Load) -> None:
    g = guest("interruption")
    assert g.call(API, "run", 0, 1000) == 0
    assert g.stdout_text() == ""


def test_run_sleeps_between_steps(guest: Load) -> None:
    g = guest("interruption")
    start = time.monotonic()
    assert g.call(API, "run", 4, 40) == 10
    assert time.monotonic() - start >= 4 * 0.040
    assert g.stdout_text().splitlines() == ["step 1", "step 2", "step 3", "step 4"]


def test_run_counts_past_nine(guest: Load) -> None:
    g = guest("interruption")
    assert g.call(API, "run", 12, 0) == 78
    assert g.stdout_text().splitlines()[-3:] == ["step 10", "step 11", "step 12"]


def test_spin_runs_until_the_epoch_interrupts_it(guest: Load) -> None:
    config = Config()
    config.epoch_interruption = True

    def one_tick(store: Store) -> None:
        # Instantiation runs guest code too, so the deadline must exist first;
        # one tick lets everything run until the test bumps the epoch.
        store.set_epoch_deadline(1)

    g = guest("interruption", config=config, setup_store=one_tick)
    outcome: list[BaseException | int] = []

    def spin() -> None:
        try:
            outcome.append(g.call(API, "spin"))
        except BaseException as e:  # handed to the test thread to assert on
            outcome.append(e)

    worker = threading.Thread(target=spin, daemon=True)
    worker.start()
    try:
        worker.join(0.3)
        assert worker.is_alive(), f"spin returned early: {outcome}"
    finally:
        g.engine.increment_epoch()
        worker.join(2.0)
    assert not worker.is_alive(), "spin ignored the epoch deadline"
    assert len(outcome) == 1
    err = outcome[0]
    assert isinstance(err, WasmtimeError)
    assert "wasm trap: interrupt" in str(err)
