"""FastFunc calls an export as wasmtime-py's Func does, with less Python per call."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wasmtime import Engine, ExitTrap, Store, WasiConfig, WasmtimeError
from wasmtime import component as cm

from executor.codec import lower_params
from executor.fastcall import FastFunc
from tests.helpers import guest_bytes
from tests.unit.executor.test_codec import ECHOES, json_values, types_guest


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b)


@pytest.mark.parametrize("name", ECHOES)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_fastfunc_returns_what_wasmtime_py_returns(name: str, data: st.DataObject) -> None:
    guest = types_guest()
    (param,) = guest.functions[name].parameters
    args = lower_params([param], [data.draw(json_values(param.typ), label="v")])
    expected = guest.call(name, args)
    idx = guest.instance.get_export_index(guest.store, name, guest.iface)
    fast = FastFunc(guest.instance.get_func(guest.store, idx), guest.store)
    got = fast(guest.store, *args)
    fast.post_return(guest.store)
    assert _same(got, expected) if not isinstance(expected, (list, dict)) else got == expected


def _failing_guest():
    """The failing guest under plain wasmtime, and its `api` export index."""
    engine = Engine()
    linker = cm.Linker(engine)
    linker.add_wasip2()
    store = Store(engine)
    store.set_wasi(WasiConfig())
    instance = linker.instantiate(store, cm.Component(engine, guest_bytes("failing")))
    return store, instance, instance.get_export_index(store, "golemite:failing/api")


@pytest.mark.parametrize("export, args", [("overflow", [1 << 40]), ("quit", [False])])
def test_fastfunc_raises_what_wasmtime_py_raises(export: str, args: list) -> None:
    # A trap (stack overflow) and a guest's exit(1) come back from wasmtime as an error
    # pointer; FastFunc must turn it into the same exception wasmtime-py raises.
    errors = []
    for fast in (False, True):
        store, instance, api = _failing_guest()
        func = instance.get_func(store, instance.get_export_index(store, export, api))
        if fast:
            func = FastFunc(func, store)
        with pytest.raises(WasmtimeError) as caught:
            func(store, *args)
        errors.append(caught.value)
    plain, fast = errors
    assert type(fast) is type(plain)
    assert str(fast) == str(plain)
    assert isinstance(fast, ExitTrap) == (export == "quit")
    if export == "quit":
        assert fast.code == plain.code == 1
