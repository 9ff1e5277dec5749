"""The componentize-py shopping cart through golemite's executor: linking, the flow, replay.

Every componentize-py guest imports a native `wasi:io/streams` `subscribe`, so golemite
links it with wasmtime's own poll and monotonic clock (`needs_native_io`). Uploading
compiles the 18 MB component (10 s or more), so each scenario is one test.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from executor import DEFAULT_ACCOUNT
from executor.host import needs_native_io
from tests.helpers import GUESTS

NAME = "py-shopping-cart"
CART = "golem:it/api"
RANDOM_U64 = "wasi:random/random/get-random-u64"

pytestmark = pytest.mark.skipif(
    not (GUESTS / NAME / f"{NAME}.wasm").exists(), reason=f"{NAME}.wasm is not built (guests/{NAME}/build.sh)"
)


def item(product_id: str, name: str, price: float, quantity: int) -> dict:
    return {"product-id": product_id, "name": name, "price": price, "quantity": quantity}


def drain_stdout(events: asyncio.Queue) -> str:
    out = []
    while not events.empty():
        event = events.get_nowait()
        if "stdout" in event:
            out.append(event["stdout"]["message"])
    return "".join(out)


def random_u64s(harness, tid: str, worker: str) -> list[int]:
    return [e.response for _, e in harness.ex.store.read(f"{tid}/{worker}")
            if getattr(e, "function", "") == RANDOM_U64]


async def test_python_cart_links_runs_and_survives_replay(harness):
    tid = await harness.template(NAME)
    version = harness.ex.templates.version(DEFAULT_ACCOUNT, tid).version
    template = harness.ex.templates.load(tid, version)
    assert needs_native_io(harness.ex.runtime.engine, template.component)

    worker = harness.ex.get_or_create(DEFAULT_ACCOUNT, tid, "c")
    events: asyncio.Queue = asyncio.Queue()
    worker.listeners.add(events)

    async def call(function: str, *params):
        return await harness.call(tid, "c", f"{CART}/{function}", list(params))

    assert await call("initialize-cart", "user-1") == []
    await call("add-item", item("G1000", "Golem T-Shirt M", 100.0, 5))
    await call("add-item", item("G1001", "Mug ☕", 9.5, 1))
    await call("add-item", item("G1000", "ignored name", 1.0, 2))
    await call("update-item-quantity", "G1001", 3)
    await call("remove-item", "nope")
    assert await call("get-cart-contents") == [[item("G1000", "Golem T-Shirt M", 100.0, 7),
                                                 item("G1001", "Mug ☕", 9.5, 3)]]

    first = (await call("checkout"))[0]["success"]["order-id"]
    await call("add-item", item("G1002", "Sticker", 0.5, 10))
    second = (await call("checkout"))[0]["success"]["order-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", first) and re.fullmatch(r"[0-9a-f]{16}", second)
    assert first != second
    # The ids are exactly the recorded wasi:random draws, one per successful checkout.
    assert [f"{v:016x}" for v in random_u64s(harness, tid, "c")] == [first, second]
    assert await call("checkout") == [{"error": "Empty cart"}]
    await call("add-item", item("G1003", "Poster", 12.0, 1))

    assert drain_stdout(events).splitlines() == [
        "Initializing cart for user user-1",
        "Adding item G1000 to the cart of user user-1",
        "Adding item G1001 to the cart of user user-1",
        "Adding item G1000 to the cart of user user-1",
        "Updating quantity of item G1001 to 3 in the cart of user user-1",
        "Removing item nope from the cart of user user-1",
        "Getting cart contents for user user-1",
        f"Checkout for order {first} of user user-1",
        "Adding item G1002 to the cart of user user-1",
        f"Checkout for order {second} of user user-1",
        "Checkout failed for user user-1: Empty cart",
        "Adding item G1003 to the cart of user user-1",
    ]

    # A second worker of the same template has a cart of its own.
    await harness.call(tid, "other", f"{CART}/initialize-cart", ["user-2"])
    assert await harness.call(tid, "other", f"{CART}/get-cart-contents") == [[]]

    before = len(harness.ex.store.read(f"{tid}/c"))
    await harness.reopen()
    worker = harness.ex.get_or_create(DEFAULT_ACCOUNT, tid, "c")
    worker.listeners.add(events)
    # The cart is rebuilt by replaying the log: the user id and the item added after the
    # last checkout are back, and the checkouts' random draws came from the log.
    assert await call("get-cart-contents") == [[item("G1003", "Poster", 12.0, 1)]]
    # Replayed calls print nothing again; only the live call's line reaches listeners.
    assert drain_stdout(events) == "Getting cart contents for user user-1\n"
    after = harness.ex.store.read(f"{tid}/c")
    assert not any(getattr(e, "function", "") == RANDOM_U64 for _, e in after[before:])
    assert [f"{v:016x}" for v in random_u64s(harness, tid, "c")] == [first, second]

    # And the replayed worker carries on live: a new checkout draws a fresh id.
    third = (await call("checkout"))[0]["success"]["order-id"]
    assert third not in (first, second)
    assert [f"{v:016x}" for v in random_u64s(harness, tid, "c")] == [first, second, third]


async def test_a_worker_whose_instance_cannot_be_built_is_not_failed_for_good(harness):
    # Under a memory limit below the guest's own minimum, the first call answered
    # "previous invocation failed: recovery failed: ..." and the worker was saved Failed:
    # it stayed so after a restart without the limit.
    from executor import ExecutorConfig, InvocationFailed
    from tests.integration.conftest import Harness
    tid = await harness.template(NAME)
    await harness.ex.close()
    small = Harness(harness.path, ExecutorConfig(max_memory_mb=2))
    await small.open()
    with pytest.raises(InvocationFailed, match="cannot start the worker: .*memory"):
        await small.call(tid, "m", f"{CART}/initialize-cart", ["user-1"])
    w = small.ex.get_worker(DEFAULT_ACCOUNT, tid, "m")
    assert w.status != "Failed" and "memory" in w.last_error
    await small.ex.close()
    await harness.open()  # the default limits again
    assert await harness.call(tid, "m", f"{CART}/initialize-cart", ["user-1"]) == []
