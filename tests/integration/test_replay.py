"""Replay equals live: properties over random invocation sequences, divergence, eviction, limits."""

from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from executor import DEFAULT_ACCOUNT as A
from executor import InvocationFailed
from oplog import Create, ExportedFunctionCompleted, ExportedFunctionInvoked, ImportedFunctionInvoked
from tests.integration.conftest import Harness

COUNTER = "golemite:counter/api"

ops = st.lists(st.one_of(
    st.just(("increment", [])),
    st.just(("get", [])),
    st.text(max_size=20).map(lambda s: ("echo", [s])),
    st.integers(0, 5).map(lambda n: ("random-calls", [n])),
), min_size=1, max_size=12)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=ops)
def test_replay_of_random_invocations_equals_live(tmp_path_factory, sequence):
    async def run():
        h = Harness(tmp_path_factory.mktemp("replay") / "data")
        await h.open()
        try:
            tid = await h.template("counter")
            live = [await h.call(tid, "w", f"{COUNTER}/{fn}", params) for fn, params in sequence]
            count = sum(1 for fn, _ in sequence if fn == "increment")
            assert await h.call(tid, "w", f"{COUNTER}/get") == [count]
            # Rebuild from the log: replay checks every recorded result against the re-run one.
            h.ex.get_worker(A, tid, "w").drop_instance()
            assert await h.call(tid, "w", f"{COUNTER}/get") == [count]
            await h.reopen()
            assert await h.call(tid, "w", f"{COUNTER}/increment") == [count + 1]
            recorded = [e.result for _, e in h.ex.store.read(f"{tid}/w") if isinstance(e, ExportedFunctionCompleted)]
            assert recorded[:len(live)] == live
        finally:
            await h.ex.close()
    asyncio.run(run())


async def test_divergence_fails_the_worker_naming_both(harness):
    tid = await harness.template("counter")
    store = harness.ex.store
    key = f"{tid}/bad"
    batch = store.batch()
    batch.create_log(key)
    batch.append(key, Create(timestamp=1, template_id=tid, template_version=0, worker_name="bad", account_id=A))
    batch.append(key, ExportedFunctionInvoked(timestamp=2, function=f"{COUNTER}/random-calls", params=[1]))
    batch.append(key, ImportedFunctionInvoked(timestamp=3, function="wasi:clocks/wall-clock/now",
                                              response=[1, 2], kind="read-local"))
    batch.append(key, ExportedFunctionCompleted(timestamp=4, result=[0]))
    from oplog import WorkerRecord
    batch.put("workers", key, WorkerRecord(template_id=tid, worker_name="bad", template_version=0, account_id=A,
                                           args=[], env=[], created_at=1))
    await store.commit(batch)
    with pytest.raises(InvocationFailed) as info:
        await harness.call(tid, "bad", f"{COUNTER}/get")
    msg = str(info.value)
    assert "wall-clock/now" in msg and "get-random-u64" in msg and "diverged" in msg
    assert harness.ex.get_worker(A, tid, "bad").status == "Failed"


async def test_lru_evicts_idle_instances_and_replay_restores_them(configured):
    h = await configured(max_live_workers=3)
    tid = await h.template("counter")
    for i in range(8):
        await h.call(tid, f"w{i}", f"{COUNTER}/increment")
        await h.call(tid, f"w{i}", f"{COUNTER}/increment")
    live = [w for w in h.ex.workers.values() if w.instance is not None]
    assert len(live) <= 3
    replays = h.ex.metrics["replays"]
    for i in range(8):
        assert await h.call(tid, f"w{i}", f"{COUNTER}/get") == [2]
    assert h.ex.metrics["replays"] > replays


async def test_wall_time_limit_fails_a_runaway_invocation(configured):
    h = await configured(max_invocation_seconds=0.3)
    tid = await h.template("interruption")
    started = time.monotonic()
    with pytest.raises(InvocationFailed, match="timeout"):
        await h.call(tid, "w", "golemite:interruption/api/spin")
    assert time.monotonic() - started < 5


async def test_wall_time_limit_does_not_apply_to_replaying_finished_calls(harness):
    # A call that took longer than a limit set later was replayed under that limit: the
    # replay timed out and the worker was Failed for good, its state lost.
    from executor import ExecutorConfig
    from tests.integration.conftest import Harness
    tid = await harness.template("counter")
    started = time.monotonic()
    await harness.call(tid, "w", f"{COUNTER}/burn", [300_000_000])
    took = time.monotonic() - started
    await harness.call(tid, "w", f"{COUNTER}/increment")
    await harness.ex.close()
    limited = Harness(harness.path, ExecutorConfig(max_invocation_seconds=took / 4))
    await limited.open()
    try:
        assert await limited.call(tid, "w", f"{COUNTER}/get") == [1]
        assert limited.ex.get_worker(A, tid, "w").status == "Idle"
    finally:
        await limited.ex.close()
    await harness.open()


async def test_compile_cache_is_used_after_restart(harness, monkeypatch):
    from wasmtime.component import Component

    tid = await harness.template("counter")
    await harness.call(tid, "w", f"{COUNTER}/increment")
    cached = list((harness.path / "compiled").glob("*.cwasm"))
    assert len(cached) == 1
    await harness.reopen()
    compiled = []

    def compile_again(*args):
        compiled.append(args)
        raise AssertionError("compiled again instead of read from the compile cache")

    monkeypatch.setattr(Component, "__init__", compile_again)
    assert await harness.call(tid, "w", f"{COUNTER}/get") == [1]
    assert compiled == []  # deserialized from disk


async def test_guest_memory_limit(configured):
    h = await configured(max_memory_mb=2)
    tid = await h.template("counter")
    assert await h.call(tid, "m", f"{COUNTER}/echo", ["small"]) == ["small"]
    with pytest.raises(InvocationFailed):
        await h.call(tid, "big", f"{COUNTER}/echo", ["x" * (4 << 20)])
    assert await h.call(tid, "m", f"{COUNTER}/increment") == [1]  # other workers are unaffected


async def test_evicted_instance_and_its_store_are_freed(harness):
    import gc
    import weakref
    tid = await harness.template("shopping-cart")
    await harness.call(tid, "w", "golem:it/api/initialize-cart", ["u"])  # prints: WASI callbacks in use
    w = harness.ex.get_worker(A, tid, "w")
    # The instance is a compiled class, which cannot be weakly referenced: follow what it
    # owns alone, its wasmtime store and its host state.
    store, state = weakref.ref(w.instance.store), weakref.ref(w.instance.state)
    w.drop_instance()
    gc.collect()
    assert store() is None and state() is None


# Concurrent calls over several workers: the guest thread runs them in bursts whose
# entries share one batch. Each (worker, function, params) list is started at once.
concurrent_calls = st.lists(st.tuples(
    st.integers(0, 5),
    st.one_of(st.just(("increment", [])), st.integers(0, 3).map(lambda n: ("random-calls", [n])),
              st.text(max_size=8).map(lambda s: ("echo", [s]))),
), min_size=1, max_size=40)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=concurrent_calls, threads=st.sampled_from([1, 3]))
def test_concurrent_calls_over_workers_answer_in_order_and_replay(tmp_path_factory, calls, threads):
    async def run():
        h = Harness(tmp_path_factory.mktemp("bursts") / "data")
        h.config.guest_threads = threads
        await h.open()
        try:
            tid = await h.template("counter")
            for w in sorted({w for w, _ in calls}):
                # Created first: calls racing to create a worker are queued in no set order.
                await h.call(tid, f"w{w}", f"{COUNTER}/get")
            results = await asyncio.gather(*(h.call(tid, f"w{w}", f"{COUNTER}/{fn}", params)
                                              for w, (fn, params) in calls))
            # Per worker, calls run in the order they were made: increments count 1, 2, ...
            counts: dict[int, int] = {}
            for (w, (fn, params)), result in zip(calls, results):
                if fn == "increment":
                    counts[w] = counts.get(w, 0) + 1
                    assert result == [counts[w]]
                elif fn == "echo":
                    assert result == params
            # Everything answered is on disk and replays to the same results.
            await h.reopen()
            for w in {w for w, _ in calls}:
                assert await h.call(tid, f"w{w}", f"{COUNTER}/get") == [counts.get(w, 0)]
                key = f"{tid}/w{w}"
                recorded = [e.result for _, e in h.ex.store.read(key) if isinstance(e, ExportedFunctionCompleted)]
                live = [[0]] + [r for (cw, _), r in zip(calls, results) if cw == w]
                assert recorded[:len(live)] == live
        finally:
            await h.ex.close()
    asyncio.run(run())
