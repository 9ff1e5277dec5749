"""The failing guest under plain wasmtime: a trap on bad input, a stack overflow, an exit."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from wasmtime import WasmtimeError

Load = Callable[..., Any]
API = "golemite:failing/api"


def test_add_accumulates_small_values(guest: Load) -> None:
    g = guest("failing")
    assert g.call(API, "get") == 0
    g.call(API, "add", 5)
    assert g.call(API, "get") == 5
    g.call(API, "add", 10)
    g.call(API, "add", 0)
    assert g.call(API, "get") == 15


def test_add_above_ten_traps(guest: Load) -> None:
    g = guest("failing")
    g.call(API, "add", 5)
    with pytest.raises(WasmtimeError, match="unreachable"):
        g.call(API, "add", 11)
    # A trap poisons the instance: the executor must rebuild it, not reuse it.
    with pytest.raises(WasmtimeError):
        g.call(API, "get")


def test_overflow_returns_for_a_shallow_depth(guest: Load) -> None:
    g = guest("failing")
    shallow = g.call(API, "overflow", 100)
    assert isinstance(shallow, int)
    assert shallow == guest("failing").call(API, "overflow", 100)
    assert shallow != g.call(API, "overflow", 101)


def test_overflow_exhausts_the_call_stack(guest: Load) -> None:
    g = guest("failing")
    with pytest.raises(WasmtimeError) as info:
        g.call(API, "overflow", 2**64 - 1)
    # wasmtime's wording for a wasm stack overflow.
    assert "wasm trap: call stack exhausted" in str(info.value)


def test_quit_calls_wasi_exit(guest: Load) -> None:
    # wasmtime's own wasi:cli/exit ends the call with an exit error carrying the status.
    g = guest("failing")
    with pytest.raises(WasmtimeError, match="exit"):
        g.call(API, "quit", False)
