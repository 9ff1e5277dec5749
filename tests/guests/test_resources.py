"""The resources guest under plain wasmtime: an exported `counter` resource.

Besides checking the guest, these tests pin how wasmtime-py names and passes
resource handles, which the executor's JSON mapping of handles is built on.
"""

from __future__ import annotations

import gc
from typing import Any, Callable

import pytest
from wasmtime import Store, WasmtimeError
from wasmtime import component as cm

Load = Callable[..., Any]

API = "golemite:resources/api"


def test_constructor_returns_an_owned_handle_that_methods_borrow(guest: Load) -> None:
    g = guest("resources")
    c = g.call(API, "[constructor]counter", "first")
    assert isinstance(c, cm.ResourceAny)
    assert c.owned
    assert g.call(API, "[method]counter.get", c) == 0
    # Methods take `self` as a borrow, so the same handle serves call after call.
    assert g.call(API, "[method]counter.inc", c, 5) == 5
    assert g.call(API, "[method]counter.inc", c, 2**40) == 5 + 2**40
    assert g.call(API, "[method]counter.get", c) == 5 + 2**40
    assert g.call(API, "[method]counter.name", c) == "first"
    assert c.owned


def test_inc_wraps_around_u64(guest: Load) -> None:
    g = guest("resources")
    c = g.call(API, "[constructor]counter", "w")
    assert g.call(API, "[method]counter.inc", c, 2**64 - 1) == 2**64 - 1
    assert g.call(API, "[method]counter.inc", c, 3) == 2


def test_make_counter_returns_an_independent_owned_counter_of_the_same_type(guest: Load) -> None:
    g = guest("resources")
    a = g.call(API, "[constructor]counter", "a")
    b = g.call(API, "make-counter", "b")
    assert isinstance(b, cm.ResourceAny)
    assert b.owned
    assert a.type == b.type
    g.call(API, "[method]counter.inc", a, 10)
    g.call(API, "[method]counter.inc", b, 1)
    assert g.call(API, "[method]counter.get", a) == 10
    assert g.call(API, "[method]counter.get", b) == 1
    assert g.call(API, "[method]counter.name", b) == "b"


def test_total_reads_through_a_borrow_and_leaves_the_handle_usable(guest: Load) -> None:
    g = guest("resources")
    c = g.call(API, "make-counter", "t")
    g.call(API, "[method]counter.inc", c, 42)
    assert g.call(API, "total", c) == 42
    assert g.call(API, "total", c) == 42
    assert g.call(API, "[method]counter.inc", c, 1) == 43
    assert g.call(API, "total", c) == 43
    assert c.owned


@pytest.mark.parametrize("name", ["", "x", "héllo wörld ✓ 日本語 🚀", "n" * 100_000])
def test_names_are_copied_and_returned_intact(guest: Load, name: str) -> None:
    g = guest("resources")
    c = g.call(API, "[constructor]counter", name)
    m = g.call(API, "make-counter", name + "!")
    assert g.call(API, "[method]counter.name", c) == name
    assert g.call(API, "[method]counter.name", m) == name + "!"


def test_function_types_name_self_and_mark_own_and_borrow(guest: Load) -> None:
    g = guest("resources")

    def ty(name: str) -> Any:
        return g.func(name, API).type(g.store)

    ctor = ty("[constructor]counter")
    assert [(n, type(t)) for n, t in ctor.params] == [("name", cm.String)]
    assert isinstance(ctor.result, cm.OwnType)
    inc = ty("[method]counter.inc")
    assert [(n, type(t)) for n, t in inc.params] == [("self", cm.BorrowType), ("by", cm.U64)]
    assert isinstance(ty("make-counter").result, cm.OwnType)
    (param,) = ty("total").params
    assert param[0] == "c" and isinstance(param[1], cm.BorrowType)
    assert param[1].ty == ctor.result.ty
    # Only functions are exported under these names; the resource-drop intrinsic is not.
    api = g.instance.get_export_index(g.store, API)
    assert g.instance.get_export_index(g.store, "[resource-drop]counter", api) is None


def _limited(guest: Load) -> Any:
    # 1 MiB of linear memory (the module starts with 128 KiB): a few dozen
    # 64 KiB names fit only if the destructor gives each one back.
    def limit(store: Store) -> None:
        store.set_limits(memory_size=1 << 20)

    return guest("resources", setup_store=limit)


def test_drop_runs_the_destructor_which_frees_the_counter(guest: Load) -> None:
    g = _limited(guest)
    for i in range(200):
        c = g.call(API, "make-counter", "m" * 65536)
        assert g.call(API, "[method]counter.inc", c, i) == i
        c.drop(g.store)
    assert g.call(API, "[method]counter.get", g.call(API, "make-counter", "after")) == 0


def test_counters_never_dropped_exhaust_the_limited_memory(guest: Load) -> None:
    g = _limited(guest)
    kept = []
    with pytest.raises(WasmtimeError):
        for _ in range(200):
            kept.append(g.call(API, "make-counter", "m" * 65536))
    assert 5 < len(kept) < 20


def test_a_handle_collected_by_python_is_not_dropped_in_the_guest(guest: Load) -> None:
    # Losing the Python object only frees wasmtime-py's wrapper: the counter stays
    # in the instance's handle table, so the executor must drop handles itself.
    g = _limited(guest)
    with pytest.raises(WasmtimeError):
        for _ in range(200):
            g.call(API, "make-counter", "m" * 65536)
            gc.collect()


def test_using_a_dropped_handle_fails_and_poisons_the_instance(guest: Load) -> None:
    g = guest("resources")
    c = g.call(API, "make-counter", "gone")
    other = g.call(API, "make-counter", "kept")
    c.drop(g.store)
    with pytest.raises(WasmtimeError, match="unknown handle index"):
        g.call(API, "[method]counter.get", c)
    with pytest.raises(WasmtimeError, match="cannot enter component instance"):
        g.call(API, "[method]counter.get", other)


def test_a_stale_handle_never_reaches_a_later_counter(guest: Load) -> None:
    # The new counter may reuse the dropped one's table slot; the stale handle
    # is still refused, and the failed call poisons the instance as above.
    g = guest("resources")
    c = g.call(API, "make-counter", "old")
    c.drop(g.store)
    fresh = g.call(API, "make-counter", "new")
    with pytest.raises(WasmtimeError, match="already de-allocated"):
        g.call(API, "[method]counter.name", c)
    with pytest.raises(WasmtimeError, match="cannot enter component instance"):
        g.call(API, "[method]counter.name", fresh)


def test_dropping_twice_fails_but_leaves_the_instance_usable(guest: Load) -> None:
    g = guest("resources")
    c = g.call(API, "make-counter", "twice")
    other = g.call(API, "make-counter", "kept")
    g.call(API, "[method]counter.inc", other, 3)
    c.drop(g.store)
    with pytest.raises(WasmtimeError, match="unknown handle index"):
        c.drop(g.store)
    assert g.call(API, "[method]counter.get", other) == 3


def test_a_handle_from_another_instance_is_refused(guest: Load) -> None:
    a = guest("resources")
    b = guest("resources")
    c = a.call(API, "make-counter", "a's")
    with pytest.raises(WasmtimeError, match="mismatched resource types"):
        b.call(API, "total", c)
    assert a.call(API, "total", c) == 0
