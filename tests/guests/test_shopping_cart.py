"""The shopping-cart guest under plain wasmtime: Golem's demo flow, export by export."""

from __future__ import annotations

import re
import struct
from typing import Any, Callable

from wasmtime import component as cm

Load = Callable[..., Any]
API = "golem:it/api"


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


def test_full_cart_flow(guest: Load) -> None:
    g = guest("shopping-cart")
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
    # wasmtime-py lifts checkout-result untagged: a str for `error`, a Record for `success`.
    assert isinstance(result, cm.Record)
    order_id = getattr(result, "order-id")
    assert re.fullmatch(r"[0-9a-f]{16}", order_id)
    assert g.call(API, "get-cart-contents") == []

    assert g.call(API, "checkout") == "Empty cart"

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


def test_checkout_of_an_empty_cart_is_an_error(guest: Load) -> None:
    g = guest("shopping-cart")
    assert g.call(API, "checkout") == "Empty cart"
    g.call(API, "initialize-cart", "u")
    assert g.call(API, "checkout") == "Empty cart"
    assert g.call(API, "get-cart-contents") == []


def test_order_id_is_the_random_u64_in_hex(guest: Load) -> None:
    served = iter([0x00C0FFEE12345678, 0xFEDCBA9876543210])

    def link(linker: cm.Linker) -> None:
        with linker.root() as root, root.add_instance("wasi:random/random@0.2.12") as iface:
            iface.add_func("get-random-u64", lambda _store: next(served))

    g = guest("shopping-cart", link=link)
    g.call(API, "initialize-cart", "u")
    for expected in ["00c0ffee12345678", "fedcba9876543210"]:
        g.call(API, "add-item", item("p", "n", 1.0, 1))
        assert getattr(g.call(API, "checkout"), "order-id") == expected


def test_initialize_cart_starts_an_empty_cart(guest: Load) -> None:
    g = guest("shopping-cart")
    g.call(API, "initialize-cart", "first")
    g.call(API, "add-item", item("a", "A", 1.0, 1))
    g.call(API, "initialize-cart", "second")
    assert g.call(API, "get-cart-contents") == []
    assert g.stdout_text().splitlines()[-2] == "Initializing cart for user second"


def test_many_items_and_long_strings(guest: Load) -> None:
    g = guest("shopping-cart")
    long_user = "ü" * 5000  # a line longer than one 4096-byte stream write
    g.call(API, "initialize-cart", long_user)
    for i in range(100):
        g.call(API, "add-item", item(f"p{i}", f"name {i}", float(i), i))
    contents = g.call(API, "get-cart-contents")
    assert [as_tuple(r) for r in contents] == [(f"p{i}", f"name {i}", float(i), i) for i in range(100)]
    assert f"Initializing cart for user {long_user}\n" in g.stdout_text()
