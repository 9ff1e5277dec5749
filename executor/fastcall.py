"""Calling a component export without re-reading its type on every call.

wasmtime-py's `Func.__call__` asks wasmtime for the function type, and builds Python
type objects from it, on every call: about two thirds of the cost of a trivial call.
The type never changes for a given export, so we read it once and keep it.
"""

from __future__ import annotations

from ctypes import byref, pointer
from typing import Any

from wasmtime import _ffi as ffi
from wasmtime.component import Func
from wasmtime.component._enter import enter_wasm


class FastFunc:
    __slots__ = ("_func", "_fty", "_params", "_result")

    def __init__(self, func: Func, store):
        self._func = func
        self._fty = func.type(store)       # owns the type objects below: keep it alive
        self._params = [ty for _, ty in self._fty.params]
        self._result = self._fty.result

    def __call__(self, store, *args: Any) -> Any:
        params = self._params
        if len(args) != len(params):
            raise TypeError(f"expected {len(params)} parameters, got {len(args)}")
        n_params = len(params)
        param_capi = (ffi.wasmtime_component_val_t * n_params)()
        n = 0
        try:
            for ty, val in zip(params, args):
                ty.convert_to_c(store, val, pointer(param_capi[n]))
                n += 1
            result_ty = self._result
            if result_ty is not None:
                result_space = ffi.wasmtime_component_val_t()
                result_ptr, result_len = byref(result_space), 1
            else:
                result_space, result_ptr, result_len = None, None, 0
            raw = self._func._func
            ctx = store._context()
            enter_wasm(lambda: ffi.wasmtime_component_func_call(byref(raw), ctx, param_capi, n, result_ptr, result_len))
            if result_space is None:
                return None
            return result_ty.convert_from_c(result_space)
        finally:
            for i in range(n):
                ffi.wasmtime_component_val_delete(byref(param_capi[i]))

    def post_return(self, store) -> None:
        self._func.post_return(store)
