"""golem:api/host and durable WASI through the executor: promises, interrupts, sleeps, oplog control."""

from __future__ import annotations

import asyncio
import time

import pytest

from executor import DEFAULT_ACCOUNT, InvocationFailed, NotFound, WorkerInterrupted

PROMISE = "golemite:promise/api"
RUNTIME = "golemite:runtime/api"
INTERRUPTION = "golemite:interruption/api"
CLOCKS = "golemite:clocks-env/api"
A = DEFAULT_ACCOUNT


def kinds(harness, tid, name):
    harness.ex.store.flush()
    return [type(e).__name__ for _, e in harness.ex.store.read(f"{tid}/{name}")]


async def wait_status(harness, tid, name, status, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if harness.ex.get_worker(A, tid, name).status == status:
                return
        except NotFound:  # an implicit create may not have happened yet
            pass
        await asyncio.sleep(0.01)
    raise AssertionError(f"worker {name} never became {status}; it is {harness.ex.get_worker(A, tid, name).status}")


async def interrupted_run(harness, tid, name, params, key=None) -> None:
    """Start the interruption guest's `run(params)` on worker `name`, interrupt it once it
    runs, and check that its caller hears it was interrupted."""
    first = asyncio.ensure_future(harness.call(tid, name, f"{INTERRUPTION}/run", params, key=key))
    await wait_status(harness, tid, name, "Running", timeout=10)
    assert await harness.ex.interrupt(A, tid, name, False) is True
    with pytest.raises(WorkerInterrupted):
        await asyncio.wait_for(first, 10)


async def wait_until(condition, timeout=10.0) -> None:
    """Poll `condition()` until it holds or `timeout` s pass; the caller asserts what it needs."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


async def test_promise_suspends_and_completion_wakes_the_worker(harness):
    tid = await harness.template("promise")
    pid = (await harness.call(tid, "p", f"{PROMISE}/create"))[0]
    idx = pid["oplog-idx"]
    assert kinds(harness, tid, "p")[idx - 1] == "CreatePromise"
    waiter = asyncio.ensure_future(harness.call(tid, "p", f"{PROMISE}/await", [pid]))
    await wait_status(harness, tid, "p", "Suspended")
    assert harness.ex.get_worker(A, tid, "p").instance is None  # no instance held while waiting
    assert await harness.ex.complete_promise(A, tid, "p", idx, b"hi") is True
    assert await asyncio.wait_for(waiter, 10) == [list(b"hi")]
    assert await harness.ex.complete_promise(A, tid, "p", idx, b"again") is False
    with pytest.raises(NotFound):
        await harness.ex.complete_promise(A, tid, "p", 9999, b"x")
    assert harness.ex.get_worker(A, tid, "p").status == "Idle"


async def test_a_completion_landing_while_the_guest_decides_to_suspend_still_wakes_it(harness):
    # The guest reads the promise as pending; before it has suspended, the completion
    # commits and wakes the worker, which is still Running then. That wake was dropped and
    # the worker stayed Suspended with its promise complete (found by a crash audit: a
    # promise completed while its worker was rebuilt by interrupt?recover-immediately).
    tid = await harness.template("promise")
    pid = (await harness.call(tid, "p", f"{PROMISE}/create"))[0]
    idx = pid["oplog-idx"]
    loop = asyncio.get_running_loop()
    completed = []

    class CompleteRightAfterReading:
        """The worker's services, but the promise completes just after the guest read it."""

        def __init__(self, services):
            self.services = services

        def __getattr__(self, name):
            return getattr(self.services, name)

        def promise_state(self, template_id, worker_name, i):
            state = self.services.promise_state(template_id, worker_name, i)
            if not state[0] and not completed:  # on the guest thread, before it raises Suspend
                completed.append(asyncio.run_coroutine_threadsafe(
                    harness.ex.complete_promise(A, tid, "p", idx, b"hi"), loop).result(10))
            return state
    host_state = harness.ex.get_worker(A, tid, "p").instance.state  # live since the create call
    host_state.services = CompleteRightAfterReading(host_state.services)
    result = await asyncio.wait_for(harness.call(tid, "p", f"{PROMISE}/await", [pid]), 10)
    assert completed == [True] and result == [list(b"hi")]
    assert harness.ex.get_worker(A, tid, "p").status == "Idle"


async def test_promise_survives_restart_while_suspended(harness):
    tid = await harness.template("promise")
    pid = (await harness.call(tid, "p", f"{PROMISE}/create"))[0]
    key = await harness.ex.new_key(A, tid, "p")
    waiter = asyncio.ensure_future(harness.call(tid, "p", f"{PROMISE}/await", [pid], key=key))
    await wait_status(harness, tid, "p", "Suspended")
    waiter.cancel()
    await harness.reopen()
    assert harness.ex.get_worker(A, tid, "p").status == "Suspended"
    assert await harness.ex.complete_promise(A, tid, "p", pid["oplog-idx"], b"late") is True
    assert await asyncio.wait_for(harness.call(tid, "p", f"{PROMISE}/await", [pid], key=key), 10) == [list(b"late")]


async def test_promise_completed_by_another_worker(harness):
    ptid = await harness.template("promise")
    rtid = await harness.template("runtime")
    pid = (await harness.call(ptid, "p", f"{PROMISE}/create"))[0]
    waiter = asyncio.ensure_future(harness.call(ptid, "p", f"{PROMISE}/await", [pid]))
    await wait_status(harness, ptid, "p", "Suspended")
    import uuid
    u = uuid.UUID(ptid).int
    done = await harness.call(rtid, "r", f"{RUNTIME}/complete-other",
                              [u >> 64, u & ((1 << 64) - 1), "p", pid["oplog-idx"], [7, 8]])
    assert done == [True]
    assert await asyncio.wait_for(waiter, 10) == [[7, 8]]


async def test_interrupt_one_spinning_worker_while_another_finishes(harness):
    tid = await harness.template("interruption")
    ctid = await harness.template("counter")
    spinner = asyncio.ensure_future(harness.call(tid, "spin", f"{INTERRUPTION}/spin"))
    await wait_status(harness, tid, "spin", "Running")
    other = asyncio.ensure_future(harness.call(ctid, "busy", "golemite:counter/api/burn", [800_000_000]))
    await asyncio.sleep(0.1)
    assert await harness.ex.interrupt(A, tid, "spin", False) is True
    # The answer came once the interrupt shows, durably: read next, the worker is Interrupted.
    assert harness.ex.get_worker(A, tid, "spin").shown_record().status == "Interrupted"
    assert "Interrupted" in [type(e).__name__ for _, e in harness.ex.store.read(f"{tid}/spin")]
    with pytest.raises(WorkerInterrupted, match="interrupted"):
        await asyncio.wait_for(spinner, 10)
    assert harness.ex.get_worker(A, tid, "spin").status == "Interrupted"
    assert not other.done()
    assert isinstance((await asyncio.wait_for(other, 30))[0], int)
    assert await harness.ex.interrupt(A, ctid, "busy", False) is False  # idle: nothing to interrupt


async def test_interrupted_call_completes_first_on_resume(harness):
    tid = await harness.template("interruption")
    first = asyncio.ensure_future(harness.call(tid, "w", f"{INTERRUPTION}/run", [5, 60]))
    await asyncio.sleep(0.15)
    assert await harness.ex.interrupt(A, tid, "w", False) is True
    with pytest.raises(WorkerInterrupted):
        await asyncio.wait_for(first, 10)
    await harness.ex.resume(A, tid, "w")
    # Answered once the Resume is committed: an acknowledged resume survives a crash.
    assert "Resume" in [type(e).__name__ for _, e in harness.ex.store.read(f"{tid}/w")]
    await wait_status(harness, tid, "w", "Idle", timeout=10)
    harness.ex.store.flush()  # the status flips before its commit lands; reads see committed entries
    log = harness.ex.store.read(f"{tid}/w")
    names = [type(e).__name__ for _, e in log]
    assert "Interrupted" in names and names.count("ExportedFunctionCompleted") == 1
    completed = [e for _, e in log if type(e).__name__ == "ExportedFunctionCompleted"][0]
    assert completed.result == [15]


async def test_recover_immediately_gives_the_real_result_and_no_duplicate_output(harness):
    tid = await harness.template("interruption")
    w = harness.ex.get_or_create(A, tid, "w")
    events: asyncio.Queue = asyncio.Queue()
    w.listeners.add(events)
    call = asyncio.ensure_future(harness.call(tid, "w", f"{INTERRUPTION}/run", [4, 80]))
    await asyncio.sleep(0.2)
    assert await harness.ex.interrupt(A, tid, "w", True) is True
    assert await asyncio.wait_for(call, 10) == [10]
    lines = []
    while not events.empty():
        lines.append(events.get_nowait()["stdout"]["message"])
    assert "".join(lines) == "".join(f"step {i}\n" for i in range(1, 5))


async def test_short_sleep_runs_in_place_and_long_sleep_suspends(harness):
    tid = await harness.template("clocks-env")
    elapsed = (await harness.call(tid, "s", f"{CLOCKS}/sleep-ms", [50]))[0]
    assert elapsed >= 50_000_000
    started = time.monotonic()
    call = asyncio.ensure_future(harness.call(tid, "s", f"{CLOCKS}/sleep-ms", [700]))  # over the 300 ms threshold
    await wait_status(harness, tid, "s", "Suspended", timeout=5)
    assert (await asyncio.wait_for(call, 10))[0] >= 700_000_000
    assert 0.65 <= time.monotonic() - started < 5
    assert "Suspend" in kinds(harness, tid, "s")


async def test_long_sleep_wakes_after_restart_and_replay_does_not_sleep_again(harness):
    tid = await harness.template("clocks-env")
    key = await harness.ex.new_key(A, tid, "s")
    call = asyncio.ensure_future(harness.call(tid, "s", f"{CLOCKS}/sleep-ms", [800], key=key))
    await wait_status(harness, tid, "s", "Suspended", timeout=5)
    call.cancel()
    await harness.reopen()
    assert (await asyncio.wait_for(harness.call(tid, "s", f"{CLOCKS}/sleep-ms", [800], key=key), 10))[0] >= 800_000_000
    started = time.monotonic()
    await harness.reopen()
    await harness.call(tid, "s", f"{CLOCKS}/get-arguments")  # replays the finished sleep
    assert time.monotonic() - started < 0.5


async def test_clock_and_random_values_are_reproduced_on_replay(harness):
    tid = await harness.template("clocks-env")
    wall = (await harness.call(tid, "c", f"{CLOCKS}/wall-now"))[0]
    rnd = (await harness.call(tid, "c", f"{CLOCKS}/random-bytes", [16]))[0]
    seed = (await harness.call(tid, "c", f"{CLOCKS}/insecure-seed"))[0]
    assert abs(wall[0] - time.time()) < 5 and len(rnd) == 16 and len(seed) == 2
    key = f"{tid}/c"
    before = len(harness.ex.store.read(key))
    await harness.reopen()
    await harness.call(tid, "c", f"{CLOCKS}/get-arguments")
    after = harness.ex.store.read(key)
    new = [type(e).__name__ for _, e in after[before:]]
    assert "ImportedFunctionInvoked" not in new  # replay answered every clock/random call from the log


async def test_jump_skips_the_region_and_continues(harness):
    tid = await harness.template("runtime")
    w = harness.ex.get_or_create(A, tid, "j")
    events: asyncio.Queue = asyncio.Queue()
    w.listeners.add(events)
    result = (await harness.call(tid, "j", f"{RUNTIME}/jump"))[0]
    assert result >= 5
    log = harness.ex.store.read(f"{tid}/j")
    jumps = [e for _, e in log if type(e).__name__ == "Jump"]
    assert len(jumps) == 1
    out = []
    while not events.empty():
        out.append(events.get_nowait()["stdout"]["message"])
    assert "".join(out).count("jump start") == 2 and "".join(out).count("jump end") == 1
    await harness.reopen()
    assert (await harness.call(tid, "j", f"{RUNTIME}/oplog-index"))[0] > jumps[0].end


async def test_atomic_region_reruns_whole_and_retry_policy_applies(harness):
    tid = await harness.template("runtime")
    policy = {"max-attempts": 2, "min-delay": 10_000_000, "max-delay": 20_000_000, "multiplier": 2}
    await harness.call(tid, "a", f"{RUNTIME}/set-retry", [policy])
    assert await harness.call(tid, "a", f"{RUNTIME}/get-retry") == [policy]
    ok = (await harness.call(tid, "a", f"{RUNTIME}/atomic-region", [False]))[0]
    assert isinstance(ok, int)
    with pytest.raises(InvocationFailed):
        await harness.call(tid, "a", f"{RUNTIME}/atomic-region", [True])
    rec = harness.ex.get_worker(A, tid, "a").metadata_record()
    assert rec.status == "Failed" and rec.retry_count == 2
    names = kinds(harness, tid, "a")
    # Each failed attempt re-ran the region from its start: a new Begin per attempt, no End.
    assert names.count("BeginAtomicRegion") == 3 and names.count("EndAtomicRegion") == 1
    assert "ChangeRetryPolicy" in names


async def test_persist_nothing_records_nothing_and_replays(harness):
    tid = await harness.template("runtime")
    before = len(harness.ex.store.read(f"{tid}/n"))
    await harness.call(tid, "n", f"{RUNTIME}/random-without-persistence", [50])
    log = harness.ex.store.read(f"{tid}/n")[before:]
    randoms = [e for _, e in log if getattr(e, "function", "") == "wasi:random/random/get-random-u64"]
    assert randoms == []
    assert [e.level for _, e in log if type(e).__name__ == "ChangePersistenceLevel"] == ["persist-nothing", "smart"]
    assert await harness.call(tid, "n", f"{RUNTIME}/get-persistence") == [{"smart": None}]
    await harness.reopen()
    assert await harness.call(tid, "n", f"{RUNTIME}/get-persistence") == [{"smart": None}]


async def test_host_calls_under_persist_nothing_leave_nothing_for_replay_to_meet(harness):
    # get-oplog-index, set-retry-policy and atomic regions appended entries even under
    # persist-nothing; the next replay (which runs those calls unrecorded) met them where
    # it expected the next call and failed the worker for good ("replay diverged").
    tid = await harness.template("runtime")
    await harness.call(tid, "n", f"{RUNTIME}/set-persistence", ["persist-nothing"])
    before = harness.ex.store.last_index(f"{tid}/n")
    assert await harness.call(tid, "n", f"{RUNTIME}/oplog-index") == [before + 1]  # the log's end then
    policy = {"max-attempts": 4, "min-delay": 10_000_000, "max-delay": 20_000_000, "multiplier": 2}
    await harness.call(tid, "n", f"{RUNTIME}/set-retry", [policy])
    await harness.call(tid, "n", f"{RUNTIME}/atomic-region", [False])
    await harness.call(tid, "n", f"{RUNTIME}/set-persistence", ["smart"])
    harness.ex.store.flush()
    recorded = {type(e).__name__ for _, e in harness.ex.store.read(f"{tid}/n")[before:]}
    assert not recorded & {"ImportedFunctionInvoked", "ChangeRetryPolicy", "BeginAtomicRegion", "EndAtomicRegion"}
    await harness.reopen()
    assert await harness.call(tid, "n", f"{RUNTIME}/get-persistence") == [{"smart": None}]
    assert harness.ex.get_worker(A, tid, "n").status == "Idle"


async def test_idempotency_key_self_uri_and_oplog_index(harness):
    tid = await harness.template("runtime")
    k1 = (await harness.call(tid, "i", f"{RUNTIME}/idempotency-key"))[0]
    assert set(k1) == {"high-bits", "low-bits"}
    uri = (await harness.call(tid, "i", f"{RUNTIME}/self-uri", ["f"]))[0]
    assert uri == f"worker://{tid}/i/f"
    idx = (await harness.call(tid, "i", f"{RUNTIME}/oplog-index"))[0]
    entry = harness.ex.store.read(f"{tid}/i", idx, 1)[0][1]
    assert entry.function == "golem:api/host/get-oplog-index" and entry.response == idx
    assert await harness.call(tid, "i", f"{RUNTIME}/get-idempotence") == [True]
    await harness.call(tid, "i", f"{RUNTIME}/set-idempotence", [False])
    assert await harness.call(tid, "i", f"{RUNTIME}/get-idempotence") == [False]
    await harness.call(tid, "i", f"{RUNTIME}/commit", [1])
    await harness.reopen()
    # Replay of the whole history must agree with the log (no divergence).
    assert await harness.call(tid, "i", f"{RUNTIME}/get-idempotence") == [False]


async def test_delete_suspended_worker(harness):
    tid = await harness.template("promise")
    pid = (await harness.call(tid, "d", f"{PROMISE}/create"))[0]
    waiter = asyncio.ensure_future(harness.call(tid, "d", f"{PROMISE}/await", [pid]))
    await wait_status(harness, tid, "d", "Suspended")
    await harness.ex.delete_worker(A, tid, "d")
    with pytest.raises((NotFound, InvocationFailed)):
        await asyncio.wait_for(waiter, 5)
    with pytest.raises(NotFound):
        harness.ex.get_worker(A, tid, "d")
    assert harness.ex.store.read(f"{tid}/d") == []
    assert (await harness.call(tid, "d", f"{PROMISE}/create"))[0]["oplog-idx"] == 3


async def test_remote_write_with_idempotence_off_is_bracketed_and_never_repeated(harness):
    ptid = await harness.template("promise")
    rtid = await harness.template("runtime")
    pid = (await harness.call(ptid, "p", f"{PROMISE}/create"))[0]
    import uuid
    u = uuid.UUID(ptid).int
    args = [u >> 64, u & ((1 << 64) - 1), "p", pid["oplog-idx"], [1]]
    await harness.call(rtid, "r", f"{RUNTIME}/set-idempotence", [False])
    assert await harness.call(rtid, "r", f"{RUNTIME}/complete-other", args) == [True]
    names = kinds(harness, rtid, "r")
    i = names.index("BeginRemoteWrite")
    assert names[i + 1:i + 3] == ["ImportedFunctionInvoked", "EndRemoteWrite"]
    await harness.reopen()  # a finished remote write replays from the log
    assert await harness.call(rtid, "r", f"{RUNTIME}/get-idempotence") == [False]

    # Now a crash between the start of a write and its end: recovery must not repeat it.
    import time as _t
    from oplog import BeginRemoteWrite, ExportedFunctionInvoked
    key = f"{rtid}/r"
    batch = harness.ex.store.batch()
    batch.append(key, ExportedFunctionInvoked(timestamp=_t.time_ns(), function=f"{RUNTIME}/complete-other",
                                              params=args))
    batch.append(key, BeginRemoteWrite(timestamp=_t.time_ns()))
    rec = harness.ex.store.get("workers", key)
    import msgspec
    batch.put("workers", key, msgspec.structs.replace(rec, status="Running"))
    await harness.ex.store.commit(batch)
    await harness.reopen()
    await wait_status(harness, rtid, "r", "Failed")
    w = harness.ex.get_worker(A, rtid, "r")
    assert "may or may not have happened" in w.last_error
    assert kinds(harness, ptid, "p").count("CompletePromise") == 1


async def test_next_invocation_resumes_an_interrupted_worker_after_finishing_the_interrupted_call(harness):
    tid = await harness.template("interruption")
    first = asyncio.ensure_future(harness.call(tid, "w", f"{INTERRUPTION}/run", [4, 50]))
    await asyncio.sleep(0.1)
    assert await harness.ex.interrupt(A, tid, "w", False) is True
    with pytest.raises(WorkerInterrupted):
        await asyncio.wait_for(first, 10)
    # No /resume: the next call resumes the worker, and the interrupted run completes first.
    assert await asyncio.wait_for(harness.call(tid, "w", f"{INTERRUPTION}/run", [2, 1]), 10) == [3]
    harness.ex.store.flush()
    results = [e.result for _, e in harness.ex.store.read(f"{tid}/w") if type(e).__name__ == "ExportedFunctionCompleted"]
    assert results == [[10], [3]]


async def test_calling_an_interrupted_keyed_call_again_resumes_it_and_answers_its_result(harness):
    # The interrupted call's caller heard "interrupted"; calling again with its key is the
    # worker's next invocation, which resumes it (SPEC §4), and the key's one run answers.
    # It answered "interrupted" again and left the worker Interrupted (after a restart it
    # already resumed).
    tid = await harness.template("interruption")
    key = await harness.ex.new_key(A, tid, "w")
    await interrupted_run(harness, tid, "w", [4, 50], key=key)
    again = await asyncio.wait_for(harness.call(tid, "w", f"{INTERRUPTION}/run", [4, 50], key=key), 10)
    assert again == [10]
    assert await harness.call(tid, "w", f"{INTERRUPTION}/run", [4, 50], key=key) == [10]
    harness.ex.store.flush()
    log = [type(e).__name__ for _, e in harness.ex.store.read(f"{tid}/w")]
    assert log.count("ExportedFunctionInvoked") == 1 and log.count("ExportedFunctionCompleted") == 1


async def test_an_acknowledged_resume_survives_a_restart_before_the_resumed_run_ends(harness):
    # /resume answers once its Resume entry is durable; the worker's row still said
    # Interrupted, and recovery trusted the row: after a restart (or SIGKILL) the worker
    # stayed Interrupted for good (found by a crash audit, 10 rounds of 10).
    tid = await harness.template("interruption")
    await interrupted_run(harness, tid, "w", [60, 50])
    await harness.ex.resume(A, tid, "w")
    assert harness.ex.get_worker(A, tid, "w").shown_record().status == "Running"  # it showed Interrupted
    await harness.reopen()  # the resumed run is stopped by the shutdown, well before its 3 s
    await wait_status(harness, tid, "w", "Idle", timeout=20)
    harness.ex.store.flush()
    results = [e.result for _, e in harness.ex.store.read(f"{tid}/w") if type(e).__name__ == "ExportedFunctionCompleted"]
    assert results == [[1830]]


async def test_an_interrupted_worker_counts_its_call_pending_across_a_restart(harness):
    # It showed 1 before a restart and 0 after, although the call completes on resume.
    tid = await harness.template("interruption")
    await interrupted_run(harness, tid, "w", [20, 50])
    assert harness.ex.get_worker(A, tid, "w").shown_record().pending_count == 1
    await harness.reopen()
    rec = harness.ex.get_worker(A, tid, "w").shown_record()
    assert (rec.status, rec.pending_count) == ("Interrupted", 1)


async def test_interrupting_a_failed_worker_changes_nothing(harness):
    tid = await harness.template("failing")
    with pytest.raises(InvocationFailed):
        await harness.call(tid, "f", "golemite:failing/api/overflow", [2**64 - 1])
    before = kinds(harness, tid, "f")
    assert await harness.ex.interrupt(A, tid, "f", False) is False
    assert harness.ex.get_worker(A, tid, "f").status == "Failed"
    assert kinds(harness, tid, "f") == before


async def test_interrupt_while_the_worker_is_being_recovered(harness):
    tid = await harness.template("interruption")
    await harness.call(tid, "w", f"{INTERRUPTION}/run", [1, 1])
    # An invocation in flight when the daemon stopped: recovery replays, then would continue it.
    import time as _t

    import msgspec

    from oplog import ExportedFunctionInvoked
    key = f"{tid}/w"
    batch = harness.ex.store.batch()
    batch.append(key, ExportedFunctionInvoked(timestamp=_t.time_ns(), function=f"{INTERRUPTION}/run",
                                              params=[50, 100]))
    batch.put("workers", key, msgspec.structs.replace(harness.ex.store.get("workers", key), status="Running"))
    await harness.ex.store.commit(batch)
    await harness.ex.close()
    ex = harness.ex = type(harness.ex)(harness.path, config=harness.config)
    await ex.start()  # recovery begins: the worker is Running, its instance not built yet
    assert await ex.interrupt(A, tid, "w", False) is True
    await wait_status(harness, tid, "w", "Interrupted")
    ex.store.flush()
    names = kinds(harness, tid, "w")
    assert names[-1] == "Interrupted"
    assert names.count("ExportedFunctionCompleted") == 1  # the recovered run did not finish


async def test_many_short_sleeps_do_not_queue_behind_a_few_threads(configured):
    h = await configured(guest_threads=3, short_sleep_ns=1_000_000_000)  # 0.4 s sleeps count as short
    tid = await h.template("clocks-env")
    for i in range(24):
        await h.call(tid, f"s{i}", f"{CLOCKS}/get-arguments")
    started = time.monotonic()
    done = await asyncio.gather(*[h.call(tid, f"s{i}", f"{CLOCKS}/sleep-ms", [400]) for i in range(24)])
    elapsed = time.monotonic() - started
    assert all(d[0] >= 400_000_000 for d in done)
    # 24 sleeps of 0.4 s on 3 threads would take 3.2 s if each held a thread.
    assert elapsed < 2.0, elapsed


def hold_durability(worker) -> asyncio.Event:
    """Make every wait for the worker's log to be durable also wait for the returned event."""
    gate = worker.wlog.durable_gate = asyncio.Event()
    return gate


async def test_a_status_change_shows_only_once_its_entry_is_durable(harness):
    # A client that sees Suspended (or Interrupted, Exited) and then loses the daemon to a
    # crash must find the worker that way after the restart: the API shows the new status
    # only once its oplog entry is durable.
    tid = await harness.template("promise")
    pid = (await harness.call(tid, "p", f"{PROMISE}/create"))[0]
    worker = harness.ex.get_worker(A, tid, "p")
    gate = hold_durability(worker)
    waiter = asyncio.ensure_future(harness.call(tid, "p", f"{PROMISE}/await", [pid]))
    await wait_status(harness, tid, "p", "Suspended")  # the worker's own state: suspended
    assert worker.shown_record().status == "Running"
    assert [r.status for r in harness.ex.list_workers(A, tid)] == ["Running"]
    gate.set()
    await wait_until(lambda: worker.shown_record().status == "Suspended")
    assert worker.shown_record().status == "Suspended"
    assert "Suspend" in kinds(harness, tid, "p")
    assert await harness.ex.complete_promise(A, tid, "p", pid["oplog-idx"], b"ok") is True
    assert await asyncio.wait_for(waiter, 10) == [list(b"ok")]


async def test_interrupting_a_suspended_worker_tells_its_caller_once_durable(harness):
    tid = await harness.template("promise")
    pid = (await harness.call(tid, "p", f"{PROMISE}/create"))[0]
    waiter = asyncio.ensure_future(harness.call(tid, "p", f"{PROMISE}/await", [pid]))
    await wait_status(harness, tid, "p", "Suspended")
    worker = harness.ex.get_worker(A, tid, "p")
    # Suspended as shown, too: its Suspend entry is durable before durability is held.
    await wait_until(lambda: worker.shown_record().status == "Suspended")
    gate = hold_durability(worker)
    interrupting = asyncio.ensure_future(harness.ex.interrupt(A, tid, "p", False))
    await asyncio.sleep(0.1)
    assert not waiter.done() and not interrupting.done()
    assert worker.shown_record().status == "Suspended"
    gate.set()
    assert await asyncio.wait_for(interrupting, 5) is True
    assert worker.shown_record().status == "Interrupted"
    with pytest.raises(WorkerInterrupted):
        await asyncio.wait_for(waiter, 5)


async def test_an_invoked_call_shows_done_only_once_its_completion_is_durable(harness):
    # Nobody is answered for a call queued with invoke: a client watches the worker until it
    # is Idle with nothing pending, and a crash after that must not bring the call back.
    increment = "golemite:counter/api/increment"
    tid = await harness.template("counter")
    await harness.call(tid, "q", increment)
    worker = harness.ex.get_worker(A, tid, "q")
    gate = hold_durability(worker)
    await harness.ex.invoke(A, tid, "q", increment, [])
    deadline = time.monotonic() + 10  # for both waits together
    await wait_until(lambda: worker.status == "Idle" and not worker.queue)
    assert worker.status == "Idle"  # done, as far as the worker itself goes
    shown = worker.shown_record()
    assert (shown.status, shown.pending_count) == ("Running", 1)
    gate.set()
    await wait_until(lambda: worker.shown_record().status == "Idle", timeout=deadline - time.monotonic())
    shown = worker.shown_record()
    assert (shown.status, shown.pending_count) == ("Idle", 0)
    assert kinds(harness, tid, "q").count("ExportedFunctionCompleted") == 2


async def test_delete_and_interrupt_do_not_wait_out_a_retry_delay(harness):
    # The delay before a retry was a plain sleep: an interrupt did not end it, and a
    # delete (an interrupt, then a wait of at most 10 s for the worker to stop) took the
    # whole delay, up to that bound.
    tid = await harness.template("runtime")
    policy = {"max-attempts": 5, "min-delay": 20_000_000_000, "max-delay": 20_000_000_000, "multiplier": 1}
    for name in ("d", "i"):
        await harness.call(tid, name, f"{RUNTIME}/set-retry", [policy])
        # Completing a promise of a worker that does not exist is a host error: retried.
        call = asyncio.ensure_future(harness.call(tid, name, f"{RUNTIME}/complete-other", [0, 0, "nobody", 1, []]))
        await wait_status(harness, tid, name, "Retrying", timeout=10)
        started = time.monotonic()
        if name == "d":
            await asyncio.wait_for(harness.ex.delete_worker(A, tid, name), 30)
            with pytest.raises(NotFound):
                await asyncio.wait_for(call, 5)
        else:
            assert await harness.ex.interrupt(A, tid, name, False) is True
            with pytest.raises(WorkerInterrupted):
                await asyncio.wait_for(call, 5)
            assert harness.ex.get_worker(A, tid, name).shown_record().status == "Interrupted"
        assert time.monotonic() - started < 3


async def test_a_retry_delay_is_waited_out_across_a_restart(harness):
    # After a restart the retry ran at once, whatever was left of its delay; and a stop
    # during the delay waited out the drain bound for a worker that was running nothing.
    tid = await harness.template("runtime")
    policy = {"max-attempts": 2, "min-delay": 2_000_000_000, "max-delay": 2_000_000_000, "multiplier": 1}
    await harness.call(tid, "r", f"{RUNTIME}/set-retry", [policy])
    call = asyncio.ensure_future(harness.call(tid, "r", f"{RUNTIME}/complete-other", [0, 0, "nobody", 1, []]))
    await wait_status(harness, tid, "r", "Retrying")
    started = time.monotonic()
    await harness.reopen()
    assert time.monotonic() - started < 1.5, "the stop waited for a worker waiting to retry"
    with pytest.raises(InvocationFailed, match="shutting down"):
        await call
    await wait_status(harness, tid, "r", "Retrying", timeout=1)
    await wait_status(harness, tid, "r", "Failed", timeout=10)
    harness.ex.store.flush()
    errors = [e.timestamp for _, e in harness.ex.store.read(f"{tid}/r") if type(e).__name__ == "Error"]
    assert len(errors) == 2
    assert (errors[1] - errors[0]) / 1e9 >= 1.95, "the second attempt came before its delay was over"
