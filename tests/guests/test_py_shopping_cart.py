"""The componentize-py shopping cart under plain wasmtime: the C cart's flow, export by export.

Compiling the 18 MB component takes 10 s or more, so the module compiles it once, keeps
the machine code in pytest's cache for later runs, and instantiates it per test
(instantiation is cheap).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
from wasmtime import Engine, Store, WasmtimeError
from wasmtime import component as cm

from tests.guests.conftest import GUESTS, LoadedGuest, guest_wasm, instantiate

NAME = "py-shopping-cart"
API = "golem:it/api"
WASM = guest_wasm(NAME)
TOOL_PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

pytestmark = pytest.mark.skipif(not WASM.exists(), reason=f"{WASM.name} is not built (guests/{NAME}/build.sh)")

Instantiate = Callable[..., LoadedGuest]


def item(product_id: str, name: str, price: float, quantity: int) -> cm.Record:
    r = cm.Record()
    setattr(r, "product-id", product_id)
    r.name = name
    r.price = price
    r.quantity = quantity
    return r


def as_tuple(r: cm.Record) -> tuple[str, str, float, int]:
    return (getattr(r, "product-id"), r.name, r.price, r.quantity)


def f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


@pytest.fixture(scope="module")
def compiled(request: pytest.FixtureRequest) -> tuple[Engine, cm.Component]:
    engine = Engine()
    wasm = WASM.read_bytes()
    # Serialized code is only valid for the wasmtime build and engine settings that made
    # it; deserialize refuses a mismatch, and then the guest is simply compiled again.
    key = hashlib.sha256(wasm + importlib.metadata.version("wasmtime").encode()).hexdigest()[:32]
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    if cache is None:
        return engine, cm.Component(engine, wasm)
    cached = Path(cache.mkdir(NAME)) / f"{key}.cwasm"
    if cached.exists():
        try:
            return engine, cm.Component.deserialize_file(engine, str(cached))
        except WasmtimeError:
            pass
    component = cm.Component(engine, wasm)
    # Entries for earlier builds are some 30 MB each and never read again.
    for stale in cached.parent.glob("*.cwasm"):
        stale.unlink()
    tmp = cached.with_suffix(".tmp")
    tmp.write_bytes(component.serialize())
    tmp.replace(cached)
    return engine, component


@pytest.fixture
def cart(compiled: tuple[Engine, cm.Component]) -> Instantiate:
    """A fresh instance per call, sharing the module's compiled component."""
    engine, component = compiled

    def fresh(link: Callable[[cm.Linker], None] | None = None) -> LoadedGuest:
        return instantiate(engine, component, link=link)

    return fresh


def test_full_cart_flow(cart: Instantiate) -> None:
    g = cart()
    g.call(API, "initialize-cart", "user-7")
    g.call(API, "add-item", item("G1000", "Golem T-Shirt M", 100.0, 5))
    g.call(API, "add-item", item("G1001", "Golem Cloud Subscription 1y", 999.99, 1))
    # Same product again: only its quantity grows.
    g.call(API, "add-item", item("G1000", "ignored name", 1.0, 2))
    contents = [as_tuple(r) for r in g.call(API, "get-cart-contents")]
    assert contents == [
        ("G1000", "Golem T-Shirt M", 100.0, 7),
        ("G1001", "Golem Cloud Subscription 1y", f32(999.99), 1),
    ]

    g.call(API, "update-item-quantity", "G1001", 3)
    g.call(API, "add-item", item("G1002", "Mug ☕", 12.5, 4))
    g.call(API, "remove-item", "G1000")
    # Unknown products are ignored by both.
    g.call(API, "remove-item", "nope")
    g.call(API, "update-item-quantity", "nope", 9)
    contents = [as_tuple(r) for r in g.call(API, "get-cart-contents")]
    assert contents == [
        ("G1001", "Golem Cloud Subscription 1y", f32(999.99), 3),
        ("G1002", "Mug ☕", 12.5, 4),
    ]

    result = g.call(API, "checkout")
    assert isinstance(result, cm.Record)
    order_id = getattr(result, "order-id")
    assert re.fullmatch(r"[0-9a-f]{16}", order_id)
    assert g.call(API, "get-cart-contents") == []
    assert g.call(API, "checkout") == "Empty cart"

    # Line for line what the C guest prints for the same calls.
    assert g.stdout_text().splitlines() == [
        "Initializing cart for user user-7",
        "Adding item G1000 to the cart of user user-7",
        "Adding item G1001 to the cart of user user-7",
        "Adding item G1000 to the cart of user user-7",
        "Getting cart contents for user user-7",
        "Updating quantity of item G1001 to 3 in the cart of user user-7",
        "Adding item G1002 to the cart of user user-7",
        "Removing item G1000 from the cart of user user-7",
        "Removing item nope from the cart of user user-7",
        "Updating quantity of item nope to 9 in the cart of user user-7",
        "Getting cart contents for user user-7",
        f"Checkout for order {order_id} of user user-7",
        "Getting cart contents for user user-7",
        "Checkout failed for user user-7: Empty cart",
    ]
    assert g.stderr == []


def test_checkout_of_an_empty_cart_is_an_error(cart: Instantiate) -> None:
    g = cart()
    assert g.call(API, "checkout") == "Empty cart"
    g.call(API, "initialize-cart", "u")
    assert g.call(API, "checkout") == "Empty cart"
    assert g.call(API, "get-cart-contents") == []
    assert g.stdout_text().splitlines() == [
        "Checkout failed for user : Empty cart",
        "Initializing cart for user u",
        "Checkout failed for user u: Empty cart",
        "Getting cart contents for user u",
    ]


def test_two_checkouts_get_different_order_ids(cart: Instantiate) -> None:
    g = cart()
    g.call(API, "initialize-cart", "u")
    ids = []
    for _ in range(2):
        g.call(API, "add-item", item("p", "n", 1.0, 1))
        ids.append(getattr(g.call(API, "checkout"), "order-id"))
    assert ids[0] != ids[1]
    # A second instance starts from the same pre-initialised snapshot: its ids must
    # still be fresh, which they would not be if they came from state baked in at build.
    h = cart()
    h.call(API, "add-item", item("p", "n", 1.0, 1))
    assert getattr(h.call(API, "checkout"), "order-id") not in ids


def test_order_id_is_the_wasi_random_u64_in_hex(cart: Instantiate) -> None:
    served = iter([0x00C0FFEE12345678, 0xFEDCBA9876543210])
    calls: list[int] = []

    def next_u64(_store: Store) -> int:
        value = next(served)
        calls.append(value)
        return value

    def link(linker: cm.Linker) -> None:
        # Shadowing replaces the whole interface: define every function of it the guest may import.
        with linker.root() as root, root.add_instance("wasi:random/random@0.2.12") as iface:
            iface.add_func("get-random-u64", next_u64)
            iface.add_func("get-random-bytes", lambda _store, n: os.urandom(n))

    g = cart(link)
    g.call(API, "initialize-cart", "u")
    for expected in ["00c0ffee12345678", "fedcba9876543210"]:
        g.call(API, "add-item", item("p", "n", 1.0, 1))
        assert getattr(g.call(API, "checkout"), "order-id") == expected
    # Exactly one get-random-u64 per successful checkout: nothing else in the guest draws it.
    assert len(calls) == 2


def test_initialize_cart_starts_an_empty_cart(cart: Instantiate) -> None:
    g = cart()
    g.call(API, "initialize-cart", "first")
    g.call(API, "add-item", item("a", "A", 1.0, 1))
    g.call(API, "initialize-cart", "second")
    assert g.call(API, "get-cart-contents") == []
    assert g.stdout_text().splitlines()[-2] == "Initializing cart for user second"


def test_state_is_per_instance(cart: Instantiate) -> None:
    a, b = cart(), cart()
    a.call(API, "initialize-cart", "a")
    a.call(API, "add-item", item("x", "X", 2.0, 3))
    b.call(API, "initialize-cart", "b")
    assert [as_tuple(r) for r in a.call(API, "get-cart-contents")] == [("x", "X", 2.0, 3)]
    assert b.call(API, "get-cart-contents") == []


def test_quantity_wraps_at_u32_like_the_c_guest(cart: Instantiate) -> None:
    g = cart()
    g.call(API, "add-item", item("p", "n", 1.0, 0xFFFF_FFFF))
    g.call(API, "add-item", item("p", "n", 1.0, 2))
    assert [as_tuple(r) for r in g.call(API, "get-cart-contents")] == [("p", "n", 1.0, 1)]
    g.call(API, "update-item-quantity", "p", 0xFFFF_FFFF)
    assert [as_tuple(r) for r in g.call(API, "get-cart-contents")] == [("p", "n", 1.0, 0xFFFF_FFFF)]


def test_many_items_and_long_strings(cart: Instantiate) -> None:
    g = cart()
    long_user = "ü" * 5000  # a line longer than one 4096-byte stream write
    g.call(API, "initialize-cart", long_user)
    for i in range(100):
        g.call(API, "add-item", item(f"p{i}", f"name {i}", float(i), i))
    contents = g.call(API, "get-cart-contents")
    assert [as_tuple(r) for r in contents] == [(f"p{i}", f"name {i}", float(i), i) for i in range(100)]
    assert f"Initializing cart for user {long_user}\n" in g.stdout_text()
    # Each write is at most 4096 bytes and valid UTF-8 on its own.
    assert max(len(chunk) for chunk in g.stdout) <= 4096
    for chunk in g.stdout:
        chunk.decode()


def test_imports_a_native_stream_subscribe(compiled: tuple[Engine, cm.Component]) -> None:
    """Every componentize-py guest does; golemite keys its choice of linker on it."""
    engine, component = compiled
    imports = component.type.imports(engine)
    streams = [ext.ty for name, ext in imports.items() if name.startswith("wasi:io/streams@")]
    assert streams, sorted(imports)
    assert "[method]input-stream.subscribe" in streams[0].exports(engine)
    assert any(name.startswith("wasi:random/random@") for name in imports)
    assert API in component.type.exports(engine)


def test_wit_is_the_c_guests() -> None:
    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.wit"))}

    assert files(GUESTS / NAME / "wit") == files(GUESTS / "shopping-cart" / "wit")


def component_wit(path: Path) -> str:
    return subprocess.run(
        ["wasm-tools", "component", "wit", str(path)],
        env={**os.environ, "PATH": TOOL_PATH},
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.mark.slow
def test_rebuild_has_the_same_wit(tmp_path: Path) -> None:
    # componentize-py output is not byte-identical from build to build (see build.sh),
    # so a rebuild is held to the same component interface instead of the same sha256.
    if shutil.which("componentize-py", path=TOOL_PATH) is None:
        pytest.skip("componentize-py is not installed")
    work = tmp_path / NAME
    shutil.copytree(GUESTS / NAME, work, ignore=shutil.ignore_patterns("*.wasm", "__pycache__"))
    subprocess.run(
        ["bash", "./build.sh"],
        cwd=work,
        env={**os.environ, "PATH": TOOL_PATH},
        check=True,
        capture_output=True,
        timeout=300,
    )
    rebuilt = work / f"{NAME}.wasm"
    assert component_wit(rebuilt) == component_wit(WASM)
    assert sorted(p.name for p in work.iterdir()) == ["ON-DEMAND", "app.py", "build.sh", f"{NAME}.wasm", "wit"]
