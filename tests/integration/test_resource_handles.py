"""Resource handles through the executor: worker:// handles, methods, borrow, drop, replay."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from executor import DEFAULT_ACCOUNT as A
from executor import InvalidRequest
from executor import types as T
from executor.templates import function_index
from tests.helpers import guest_bytes

API = "golemite:resources/api"


async def test_resource_handles_round_trip_and_survive_replay(harness):
    tid = await harness.template("resources")
    (c1,) = await harness.call(tid, "r", f"{API}/counter/new", ["first"])
    assert c1 == f"worker://{tid}/r/1"
    assert await harness.call(tid, "r", f"{API}/counter/inc", [c1, 5]) == [5]
    assert await harness.call(tid, "r", f"{API}.{{counter.inc}}", [c1, 2]) == [7]
    assert await harness.call(tid, "r", f"{API}/[method]counter.name", [c1]) == ["first"]
    (c2,) = await harness.call(tid, "r", f"{API}/make-counter", ["second"])
    assert c2 == f"worker://{tid}/r/2"
    assert await harness.call(tid, "r", f"{API}/total", [c1]) == [7]
    # The handles name the same resources after the instance is rebuilt from the log.
    await harness.reopen()
    assert await harness.call(tid, "r", f"{API}/counter/get", [c1]) == [7]
    assert await harness.call(tid, "r", f"{API}/counter/name", [c2]) == ["second"]
    assert await harness.call(tid, "r", f"{API}/counter/drop", [c1]) == []
    with pytest.raises(InvalidRequest, match="does not exist"):
        await harness.call(tid, "r", f"{API}/counter/get", [c1])
    assert await harness.call(tid, "r", f"{API}/counter/get", [c2]) == [0]  # the worker is fine


async def test_metadata_names_each_handle_s_resource_and_lists_its_destructor(harness):
    record, version = await harness.ex.templates.add(A, "resources", guest_bytes("resources"))
    (iface,) = [e for e in version.metadata["exports"] if e["name"] == API]
    funcs = {f["name"]: f for f in iface["functions"]}
    owned = {"type": "Handle", "mode": "Owned", "resource": "counter"}
    borrowed = {"type": "Handle", "mode": "Borrowed", "resource": "counter"}
    assert funcs["[constructor]counter"]["results"] == [{"name": None, "typ": owned}]
    assert funcs["[method]counter.inc"]["parameters"][0] == {"name": "self", "typ": borrowed}
    assert funcs["make-counter"]["results"][0]["typ"] == owned
    assert funcs["[drop]counter"] == {"name": "[drop]counter", "parameters": [{"name": "self", "typ": owned}],
                                      "results": []}
    # The listed destructor is the one calls reach: it drops, and only once.
    tid = record.template_id
    (c,) = await harness.call(tid, "d", f"{API}/counter/new", ["x"])
    assert await harness.call(tid, "d", f"{API}/[drop]counter", [c]) == []
    with pytest.raises(InvalidRequest, match="does not exist"):
        await harness.call(tid, "d", f"{API}/counter/get", [c])


def test_a_template_stored_without_resource_names_still_has_its_destructors():
    # Metadata as stored before handles named their resource and before `[drop]` was listed.
    stored = {"exports": [{"type": "Instance", "name": API, "functions": [
        {"name": "[constructor]counter", "parameters": [{"name": "name", "typ": {"type": "Str"}}],
         "results": [{"name": None, "typ": {"type": "Handle", "mode": "Owned"}}]},
    ]}]}
    index = function_index(msgspec.convert(stored, T.TemplateMetadata))
    assert index[f"{API}/counter/drop"].drops == "counter"
    assert index[f"{API}/[drop]counter"] is index[f"{API}/counter/drop"]


async def test_bad_handles_are_rejected(harness):
    tid = await harness.template("resources")
    with pytest.raises(InvalidRequest, match="resource handle"):
        await harness.call(tid, "r", f"{API}/counter/get", ["not a handle"])
    with pytest.raises(InvalidRequest, match="not a resource handle of this worker"):
        await harness.call(tid, "r", f"{API}/counter/get", [f"worker://{tid}/other/1"])
    (h1,) = await harness.call(tid, "r", f"{API}/counter/new", ["one"])
    for spelled in ("01", " 1", "+1", "\uff11", "1 "):  # all were handle 1 to int()
        with pytest.raises(InvalidRequest, match="does not end in a handle number"):
            await harness.call(tid, "r", f"{API}/counter/get", [h1[:-1] + spelled])
    assert await harness.call(tid, "r", f"{API}/counter/get", [h1]) == [0]
    w = harness.ex.get_worker(A, tid, "r")
    assert w.status == "Idle"
    harness.ex.store.flush()
    # Nothing recorded for the refused calls: only the one that made handle 1 ran.
    assert [type(e).__name__ for _, e in harness.ex.store.read(w.key)] == [
        "Create", "ExportedFunctionInvoked", "ExportedFunctionCompleted",
        "ExportedFunctionInvoked", "ExportedFunctionCompleted"]


async def test_a_queued_call_refused_at_its_turn_is_recorded_and_not_run_again(harness):
    # invoke queues `inc` of handle 2 before that handle exists: its turn comes, it is
    # refused (nobody waits to hear it). It left no trace, so the next process queued it
    # again from its PendingWorkerInvocation, where it ran against the handle 2 made
    # since: out of its turn, and into a counter that did not exist when it was sent.
    tid = await harness.template("resources")
    h1, h2 = f"worker://{tid}/r/1", f"worker://{tid}/r/2"
    await harness.ex.invoke(A, tid, "r", f"{API}/counter/inc", [h2, 100])
    w = harness.ex.get_worker(A, tid, "r")
    while w.queue or w.current is not None:
        await asyncio.sleep(0.01)
    assert w.last_error and "does not exist" in w.last_error
    assert await harness.call(tid, "r", f"{API}/counter/new", ["one"]) == [h1]
    assert await harness.call(tid, "r", f"{API}/counter/new", ["two"]) == [h2]
    harness.ex.store.flush()
    kinds = [type(e).__name__ for _, e in harness.ex.store.read(w.key)]
    assert "InvocationRejected" in kinds
    await harness.reopen()
    assert await harness.call(tid, "r", f"{API}/counter/get", [h2]) == [0]
    assert harness.ex.get_worker(A, tid, "r").metadata_record().pending_count == 0
