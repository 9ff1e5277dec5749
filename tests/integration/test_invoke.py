"""Invocations through the executor in process: results, state, keys, errors."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from executor import DEFAULT_ACCOUNT, InvalidRequest, InvocationFailed, NotFound, Worker

CART = "golem:it/api"
COUNTER = "golemite:counter/api"


async def test_counter_state_persists_across_invocations(harness):
    tid = await harness.template("counter")
    assert await harness.call(tid, "w1", f"{COUNTER}/increment") == [1]
    assert await harness.call(tid, "w1", f"{COUNTER}.{{increment}}") == [2]
    assert await harness.call(tid, "w1", f"{COUNTER}/get") == [2]
    assert await harness.call(tid, "w2", f"{COUNTER}/get") == [0]


async def test_shopping_cart_flow(harness):
    tid = await harness.template("shopping-cart")
    await harness.call(tid, "c", f"{CART}/initialize-cart", ["user-1"])
    item = {"product-id": "p1", "name": "Mug", "price": 9.5, "quantity": 2}
    await harness.call(tid, "c", f"{CART}/add-item", [item])
    await harness.call(tid, "c", f"{CART}/add-item", [item])
    assert await harness.call(tid, "c", f"{CART}/get-cart-contents") == [[{**item, "quantity": 4}]]
    out = await harness.call(tid, "c", f"{CART}/checkout")
    order = out[0]["success"]["order-id"]
    assert len(order) == 16
    assert await harness.call(tid, "c", f"{CART}/checkout") == [{"error": "Empty cart"}]


async def test_bad_params_are_rejected_before_anything_is_written(harness):
    tid = await harness.template("shopping-cart")
    await harness.call(tid, "c", f"{CART}/initialize-cart", ["u"])
    before = harness.ex.store.committed_last_index(f"{tid}/c")
    with pytest.raises(InvalidRequest, match="price"):
        await harness.call(tid, "c", f"{CART}/add-item",
                           [{"product-id": "p", "name": "n", "price": "cheap", "quantity": 1}])
    with pytest.raises(InvalidRequest, match="unknown function"):
        await harness.call(tid, "c", f"{CART}/nope")
    with pytest.raises(InvalidRequest, match="1 parameter"):
        await harness.call(tid, "c", f"{CART}/initialize-cart", [])
    assert harness.ex.store.committed_last_index(f"{tid}/c") == before


async def test_state_survives_restart_by_replay(harness):
    tid = await harness.template("counter")
    for _ in range(5):
        await harness.call(tid, "w", f"{COUNTER}/increment")
    await harness.reopen()
    assert await harness.call(tid, "w", f"{COUNTER}/increment") == [6]


async def test_random_values_are_replayed_not_redrawn(harness):
    tid = await harness.template("shopping-cart")
    await harness.call(tid, "c", f"{CART}/initialize-cart", ["u"])
    await harness.call(tid, "c", f"{CART}/add-item", [{"product-id": "p", "name": "n", "price": 1.0, "quantity": 1}])
    order = (await harness.call(tid, "c", f"{CART}/checkout"))[0]["success"]["order-id"]
    entries = harness.ex.store.read(f"{tid}/c")
    randoms = [e.response for _, e in entries if getattr(e, "function", "") == "wasi:random/random/get-random-u64"]
    assert f"{randoms[0]:016x}" == order
    await harness.reopen()
    # Replay must consume the recorded value: the log does not grow with new random calls.
    before = len(harness.ex.store.read(f"{tid}/c"))
    assert await harness.call(tid, "c", f"{CART}/get-cart-contents") == [[]]
    after = harness.ex.store.read(f"{tid}/c")
    assert not any(getattr(e, "function", "") == "wasi:random/random/get-random-u64" for _, e in after[before:])


async def test_invocation_key_is_exactly_once(harness):
    tid = await harness.template("counter")
    key = await harness.ex.new_key(DEFAULT_ACCOUNT, tid, "w")
    first = await harness.call(tid, "w", f"{COUNTER}/increment", key=key)
    again = await harness.call(tid, "w", f"{COUNTER}/increment", key=key)
    assert first == again == [1]
    assert await harness.call(tid, "w", f"{COUNTER}/get") == [1]
    await harness.reopen()
    assert await harness.call(tid, "w", f"{COUNTER}/increment", key=key) == [1]
    with pytest.raises(InvalidRequest, match="unknown invocation key"):
        await harness.call(tid, "w", f"{COUNTER}/increment", key="not-a-key")


@pytest.mark.parametrize("key", ["not-a-key", "", "k" * 600, "00000000-0000-0000-0000-000000000000"])
async def test_unknown_invocation_key_creates_nothing(harness, key):
    # An empty key, or one past LMDB's key size, was a 500 from the lookup; every unknown
    # key also created the missing worker (counted against the account's limit) before its 400.
    tid = await harness.template("counter")
    with pytest.raises(InvalidRequest, match="unknown invocation key"):
        await harness.call(tid, "fresh", f"{COUNTER}/increment", key=key)
    with pytest.raises(NotFound):
        harness.ex.get_worker(DEFAULT_ACCOUNT, tid, "fresh")
    assert harness.ex.store.read(f"{tid}/fresh") == []


async def test_concurrent_same_key_runs_once(harness):
    tid = await harness.template("counter")
    key = await harness.ex.new_key(DEFAULT_ACCOUNT, tid, "w")
    results = await asyncio.gather(*[harness.call(tid, "w", f"{COUNTER}/increment", key=key) for _ in range(5)])
    assert all(r == [1] for r in results)
    assert await harness.call(tid, "w", f"{COUNTER}/get") == [1]


async def test_queued_invocations_run_in_order_and_survive_restart(harness):
    tid = await harness.template("counter")
    for i in range(5):
        await harness.ex.invoke(DEFAULT_ACCOUNT, tid, "q", f"{COUNTER}/echo", [f"m{i}"])
    await harness.ex.invoke(DEFAULT_ACCOUNT, tid, "q", f"{COUNTER}/increment", [])
    assert await harness.call(tid, "q", f"{COUNTER}/get") == [1]
    echoes = [e.params for _, e in harness.ex.store.read(f"{tid}/q") if type(e).__name__ == "ExportedFunctionInvoked"
              and e.function.endswith("echo")]
    assert echoes == [[f"m{i}"] for i in range(5)]


async def test_the_worker_row_counts_only_queued_invocations_that_survive_a_restart(harness):
    tid = await harness.template("interruption")
    run = "golemite:interruption/api/run"
    await harness.call(tid, "r", run, [1, 1])
    key = f"{tid}/r"
    # Two awaited calls of 150 ms each (short sleeps hold the thread): when the first
    # finishes the second is queued, but it ends with its caller, so the row says 0.
    first = asyncio.ensure_future(harness.call(tid, "r", run, [1, 150]))
    second = asyncio.ensure_future(harness.call(tid, "r", run, [1, 150]))
    await first
    await asyncio.sleep(0.05)
    assert not second.done()
    assert harness.ex.store.get("workers", key).pending_count == 0
    # A queued invoke is durable: the row counts it, so a restart would recover it.
    await harness.ex.invoke(DEFAULT_ACCOUNT, tid, "r", run, [1, 1])
    harness.ex.store.flush()
    assert harness.ex.store.get("workers", key).pending_count == 1
    assert harness.ex.get_worker(DEFAULT_ACCOUNT, tid, "r").metadata_record().pending_count == 2  # live: both
    await second
    for _ in range(100):
        if harness.ex.get_worker(DEFAULT_ACCOUNT, tid, "r").status == "Idle":
            break
        await asyncio.sleep(0.02)
    harness.ex.store.flush()
    assert harness.ex.store.get("workers", key).pending_count == 0


@pytest.mark.parametrize("status, inside", [("Suspended", 1), ("Retrying", 1), ("Idle", 0), ("Interrupted", 1)])
async def test_a_worker_not_yet_replayed_counts_the_invocation_it_is_inside(harness, status, inside):
    # After a restart a worker shows its row until replay: the row counts queued
    # invocations only, and a suspended, retrying or interrupted worker is inside one
    # more (an interrupted call completes on resume: it counted before the restart too).
    tid = await harness.template("counter")
    await harness.call(tid, "s", f"{COUNTER}/increment")
    row = msgspec.structs.replace(harness.ex.get_worker(DEFAULT_ACCOUNT, tid, "s").record, status=status,
                                  pending_count=2)
    restored = Worker(harness.ex, row)  # as recovery makes it from the row
    assert not restored.loaded
    assert restored.metadata_record().pending_count == 2 + inside


async def test_trap_retries_then_fails(harness):
    tid = await harness.template("failing")
    await harness.call(tid, "f", "golemite:failing/api/add", [5])
    with pytest.raises(InvocationFailed, match="unreachable"):
        await harness.call(tid, "f", "golemite:failing/api/add", [11])
    w = harness.ex.get_worker(DEFAULT_ACCOUNT, tid, "f")
    rec = w.metadata_record()
    assert rec.status == "Failed" and rec.retry_count == 3
    with pytest.raises(InvocationFailed, match="previous invocation failed"):
        await harness.call(tid, "f", "golemite:failing/api/get")
    # A queued call is refused at once, with the same reason (it said only "previous
    # invocation failed").
    with pytest.raises(InvocationFailed, match="previous invocation failed: .*unreachable"):
        await harness.ex.invoke(DEFAULT_ACCOUNT, tid, "f", "golemite:failing/api/get", [])


async def test_calls_queued_behind_a_failing_one_are_not_counted_pending_after_a_restart(harness):
    # The row was saved before the queue behind the failed call was answered: after a
    # restart the Failed worker showed 2 pending calls (0 before) and was recovered at
    # every start.
    tid = await harness.template("failing")
    failing = asyncio.ensure_future(harness.call(tid, "f", "golemite:failing/api/add", [11]))
    for _ in range(2):
        await harness.ex.invoke(DEFAULT_ACCOUNT, tid, "f", "golemite:failing/api/add", [1])
    with pytest.raises(InvocationFailed):
        await failing
    assert harness.ex.get_worker(DEFAULT_ACCOUNT, tid, "f").shown_record().pending_count == 0
    await harness.reopen()
    rec = harness.ex.get_worker(DEFAULT_ACCOUNT, tid, "f").shown_record()
    assert rec.status == "Failed" and rec.pending_count == 0


async def test_stack_overflow_is_not_retried(harness):
    tid = await harness.template("failing")
    with pytest.raises(InvocationFailed, match="call stack exhausted"):
        await harness.call(tid, "f", "golemite:failing/api/overflow", [2**64 - 1])
    rec = harness.ex.get_worker(DEFAULT_ACCOUNT, tid, "f").metadata_record()
    assert rec.status == "Failed" and rec.retry_count == 1


async def test_unknown_worker_and_template(harness):
    tid = await harness.template("counter")
    with pytest.raises(NotFound):
        harness.ex.get_worker(DEFAULT_ACCOUNT, tid, "nobody")
    with pytest.raises(NotFound):
        await harness.call("00000000-0000-0000-0000-000000000000", "w", "x")
    with pytest.raises(NotFound):
        harness.ex.get_worker("someone-else", tid, "nobody")


async def test_environment_and_args(harness):
    tid = await harness.template("clocks-env")
    await harness.ex.create_worker(DEFAULT_ACCOUNT, tid, "e", ["-v", "x"], [("MODE", "prod")])
    env = (await harness.call(tid, "e", "golemite:clocks-env/api/get-environment"))[0]
    assert env[0] == ["MODE", "prod"]
    assert ["GOLEM_WORKER_NAME", "e"] in env and ["GOLEM_TEMPLATE_ID", tid] in env
    assert ["GOLEM_TEMPLATE_VERSION", "0"] in env
    assert await harness.call(tid, "e", "golemite:clocks-env/api/get-arguments") == [["-v", "x"]]


async def test_stdio_calling_convention(harness):
    tid = await harness.template("stdio")
    assert await harness.call(tid, "s", "run", 21, convention="stdio") == 42
    assert await harness.call(tid, "s", "run", 2.5, convention="stdio") == 5
    assert await harness.call(tid, "s", "run", "abc", convention="stdio") == "not a number"
    await harness.reopen()
    assert await harness.call(tid, "s", "run", 4, convention="stdio") == 8


async def test_stdio_numbers_the_oplog_cannot_hold(harness):
    # Doubling 10^19 prints 20000000000000000000, past 64 bits: recording that result
    # failed, and the worker was Failed for good. It is answered as its text now.
    tid = await harness.template("stdio")
    assert await harness.call(tid, "s", "run", 10**19, convention="stdio") == "20000000000000000000"
    # A param past 64 bits cannot be recorded as sent: refused before anything is written.
    with pytest.raises(InvalidRequest, match="integers must be from"):
        await harness.call(tid, "s", "run", 2**70, convention="stdio")
    types = await harness.template("types")
    with pytest.raises(InvalidRequest, match="past 64 bits"):
        await harness.call(types, "t", "golemite:types/api/echo-f64", [2**70])
    assert await harness.call(types, "t", "golemite:types/api/echo-f64", [1e21]) == [1e21]
    assert await harness.call(tid, "s", "run", 4, convention="stdio") == 8
    assert harness.ex.get_worker(DEFAULT_ACCOUNT, tid, "s").status == "Idle"


async def test_guest_exit_makes_the_worker_exited(harness):
    tid = await harness.template("failing")
    await harness.call(tid, "x", "golemite:failing/api/add", [4])
    with pytest.raises(InvocationFailed, match="exited"):
        await harness.call(tid, "x", "golemite:failing/api/quit", [True])
    w = harness.ex.get_worker(DEFAULT_ACCOUNT, tid, "x")
    assert w.status == "Exited"
    with pytest.raises(InvocationFailed, match="exited"):
        await harness.call(tid, "x", "golemite:failing/api/get")
    assert await harness.ex.interrupt(DEFAULT_ACCOUNT, tid, "x", False) is False
    await harness.reopen()  # the Exited entry is durable: still exited after a restart
    with pytest.raises(InvocationFailed, match="exited"):
        await harness.call(tid, "x", "golemite:failing/api/get")
    assert harness.ex.get_worker(DEFAULT_ACCOUNT, tid, "x").status == "Exited"


async def test_delete_drops_the_workers_keys_and_only_its_own(harness):
    # "w1" is a prefix of "w10": the per-worker key index must not take w10's keys with w1's.
    tid = await harness.template("counter")
    ex = harness.ex
    gone = [await ex.new_key(DEFAULT_ACCOUNT, tid, "w1") for _ in range(3)]
    await harness.call(tid, "w1", f"{COUNTER}/increment", key=gone[0])
    kept = await ex.new_key(DEFAULT_ACCOUNT, tid, "w10")
    assert await harness.call(tid, "w10", f"{COUNTER}/increment", key=kept) == [1]
    await ex.delete_worker(DEFAULT_ACCOUNT, tid, "w1")
    assert all(ex.store.get("keys", k) is None for k in gone)
    assert ex.store.scan("worker_keys", prefix=f"{tid}/w1/") == []
    with pytest.raises(InvalidRequest, match="unknown invocation key"):
        await harness.call(tid, "w1", f"{COUNTER}/increment", key=gone[1])  # the name made anew
    assert await harness.call(tid, "w10", f"{COUNTER}/increment", key=kept) == [1]  # still exactly-once
    assert ex.store.get("keys", kept).state == "complete"


async def test_keys_of_a_store_from_before_the_key_index_are_indexed_at_start(harness):
    # A store written before "worker_keys" existed: key rows alone, no flag. The first start
    # indexes them, so a delete still drops them.
    tid = await harness.template("counter")
    ex = harness.ex
    keys = [await ex.new_key(DEFAULT_ACCOUNT, tid, "old") for _ in range(5)]
    await harness.call(tid, "old", f"{COUNTER}/increment", key=keys[0])
    batch = ex.store.batch()
    for k, _ in ex.store.scan("worker_keys"):
        batch.delete("worker_keys", k)
    batch.delete("meta", "worker_keys_indexed")
    await ex.store.commit(batch)
    await harness.reopen()
    ex = harness.ex
    assert sorted(k for k, _ in ex.store.scan("worker_keys")) == sorted(f"{tid}/old/{k}" for k in keys)
    assert await harness.call(tid, "old", f"{COUNTER}/increment", key=keys[0]) == [1]  # the result stands
    await ex.delete_worker(DEFAULT_ACCOUNT, tid, "old")
    assert all(ex.store.get("keys", k) is None for k in keys)
    assert ex.store.index_worker_keys() == 0  # once per store
