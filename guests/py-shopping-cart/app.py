"""golem:it shopping cart written in Python: the C guest's behaviour, built with componentize-py.

One cart per worker, one stdout line per operation, order ids drawn from the
`wasi:random` import, so a Python guest exercises the same stdout capture and
random replay as the C one.
"""

from __future__ import annotations

import sys

from wit_world import exports
from wit_world.exports.api import (
    CheckoutResult,
    CheckoutResult_Error,
    CheckoutResult_Success,
    OrderConfirmation,
    ProductItem,
)
from wit_world.imports import random

EMPTY_CART = "Empty cart"
U32_MASK = 0xFFFF_FFFF
WRITE_CHUNK = 4096


def say(line: str) -> None:
    data = f"{line}\n".encode()
    out = sys.stdout.buffer
    # At most 4096 bytes per write, flushed at once. A reactor never exits, so nothing
    # would flush a buffered stdout later; and a single longer write reached a host
    # capturing stdout through wasmtime's custom-output callback cut to its first
    # 8192 bytes, while 4096 (WASI 0.2's blocking-write-and-flush limit, the C guest's
    # chunk size) always arrives whole. Cuts fall between characters, so a host that
    # decodes each write on its own still sees valid UTF-8.
    start = 0
    while start < len(data):
        end = min(start + WRITE_CHUNK, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:
            end -= 1
        out.write(data[start:end])
        out.flush()
        start = end


class Cart:
    def __init__(self) -> None:
        self.user_id = ""
        # Insertion-ordered: the cart lists products in the order first added.
        self.items: dict[str, ProductItem] = {}


# componentize-py makes a new `Api` object for every export call, so the worker's
# state lives at module level: it is part of the instance's linear memory, which is
# what golemite keeps alive between calls and rebuilds by replay.
CART = Cart()


class Api(exports.Api):
    def initialize_cart(self, user_id: str) -> None:
        CART.user_id = user_id
        CART.items = {}
        say(f"Initializing cart for user {user_id}")

    def add_item(self, item: ProductItem) -> None:
        say(f"Adding item {item.product_id} to the cart of user {CART.user_id}")
        existing = CART.items.get(item.product_id)
        if existing is None:
            CART.items[item.product_id] = ProductItem(item.product_id, item.name, item.price, item.quantity)
        else:
            # As in Golem's demo, a product already in the cart only gains quantity: its
            # first name and price stay. u32 wraps like the C guest's instead of failing
            # to lower on the way out.
            existing.quantity = (existing.quantity + item.quantity) & U32_MASK

    def remove_item(self, product_id: str) -> None:
        say(f"Removing item {product_id} from the cart of user {CART.user_id}")
        CART.items.pop(product_id, None)

    def update_item_quantity(self, product_id: str, quantity: int) -> None:
        say(f"Updating quantity of item {product_id} to {quantity} in the cart of user {CART.user_id}")
        existing = CART.items.get(product_id)
        if existing is not None:
            existing.quantity = quantity

    def checkout(self) -> CheckoutResult:
        if not CART.items:
            say(f"Checkout failed for user {CART.user_id}: {EMPTY_CART}")
            return CheckoutResult_Error(EMPTY_CART)
        # The wasi:random import itself, not Python's `random` module: each id is one
        # host call that the executor records and replays, while `random` draws its
        # seed once, possibly while componentize-py pre-initialises the interpreter.
        order_id = f"{random.get_random_u64():016x}"
        CART.items = {}
        say(f"Checkout for order {order_id} of user {CART.user_id}")
        return CheckoutResult_Success(OrderConfirmation(order_id))

    def get_cart_contents(self) -> list[ProductItem]:
        say(f"Getting cart contents for user {CART.user_id}")
        return list(CART.items.values())
