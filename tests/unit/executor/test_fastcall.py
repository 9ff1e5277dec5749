"""FastFunc calls an export as wasmtime-py's Func does, with less Python per call."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from executor.codec import lower_params
from executor.fastcall import FastFunc
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
