"""Calling a component export with as little Python per call as wasmtime-py allows.

wasmtime-py's `Func.__call__` asks wasmtime for the function type, and builds Python
type objects from it, on every call: about two thirds of the cost of a trivial call.
The type never changes for a given export, so we read it once and keep it. The store
context and the function reference are kept too, and wasmtime's C functions are
called directly, without wasmtime-py's per-call wrappers and closures: a trivial
durable invocation spends more time in this Python than in the guest.
"""

from __future__ import annotations

import ctypes
from ctypes import byref, pointer
from typing import Any

from wasmtime import WasmtimeError
from wasmtime import _bindings as _c
from wasmtime import _ffi as ffi
from wasmtime.component import Func
from wasmtime.component import _types
from wasmtime.component._enter import maybe_raise_last_exn

# A deadline is set in a few instructions: called the PYFUNCTYPE way, ctypes keeps the
# GIL, so the call does not hand it to a waiting thread and then wait to get it back.
set_epoch_deadline = ctypes.PYFUNCTYPE(None, ctypes.POINTER(ffi.wasmtime_context_t), ctypes.c_uint64)(
    ("wasmtime_context_set_epoch_deadline", ffi.dll))


def _unchecked(name: str):
    """`name` from wasmtime's library, called without argtypes.

    With argtypes, ctypes runs each argument through its declared type's from_param (an
    isinstance check and more) on every call: 40% of the cost of calling a trivial
    export. Every argument we pass is built once, of the exact C type the function takes
    (a byref, a pointer instance, a c_size_t, None), so ctypes hands each on as it is.
    Like wasmtime-py's own bindings, the call releases the GIL while the guest runs.
    """
    fn = ffi.dll[name]  # a new function object: the attribute is wasmtime-py's, with argtypes
    fn.restype = ctypes.c_void_p  # an error pointer, or None
    return fn


_call = _unchecked("wasmtime_component_func_call")
_post_return = _unchecked("wasmtime_component_func_post_return")
_ERROR_PTR = ctypes.POINTER(ffi.wasmtime_error_t)
_NONE, _ONE = ctypes.c_size_t(0), ctypes.c_size_t(1)  # value counts, made once
_val_delete = _c._wasmtime_component_val_delete
_Val = ffi.wasmtime_component_val_t
_UNION_FIELDS: dict[str, Any] = {f[0]: f[1] for f in ffi.wasmtime_component_valunion._fields_}

# Scalar results are read from the result slot through a ctypes view made once, not
# through wasmtime-py's convert_from_c (a Python method, an assert and a new union
# object per call). (A char would still need converting, so it takes the usual way.)
_SCALAR_RESULTS = {
    _types.Bool: "boolean", _types.S8: "s8", _types.U8: "u8", _types.S16: "s16", _types.U16: "u16",
    _types.S32: "s32", _types.U32: "u32", _types.S64: "s64", _types.U64: "u64",
    _types.F32: "f32", _types.F64: "f64",
}


def _raise(address: int) -> None:
    error = WasmtimeError._from_ptr(ctypes.cast(address, _ERROR_PTR))
    maybe_raise_last_exn()  # an exception a host function raised inside the call
    raise error


class FastFunc:
    __slots__ = ("_func", "_fty", "_params", "_result", "_ref", "_ctx", "_result_space", "_result_ptr",
                 "_result_len", "_scalar")

    def __init__(self, func: Func, store):
        self._func = func
        self._fty = func.type(store)       # owns the type objects below: keep it alive
        self._params = [ty for _, ty in self._fty.params]
        self._result = self._fty.result
        self._ref = byref(func._func)
        self._ctx = store._context()       # fixed for the store's life
        # One result slot, reused: a store runs one call at a time, and the result is
        # converted to Python before the call returns.
        space = _Val() if self._result is not None else None
        self._result_space = space
        self._result_ptr = byref(space) if space is not None else None
        self._result_len = _NONE if self._result is None else _ONE
        field = _SCALAR_RESULTS.get(type(self._result)) if self._result is not None else None
        # A ctypes view of the slot's scalar field (its type varies by field: Any).
        self._scalar: Any = (None if field is None else
                             _UNION_FIELDS[field].from_buffer(space, _Val.of.offset))

    def __call__(self, store, *args: Any) -> Any:
        params = self._params
        n_params = len(params)
        if len(args) != n_params:
            raise TypeError(f"expected {n_params} parameters, got {len(args)}")
        result_ty = self._result
        result_space, result_ptr, result_len = self._result_space, self._result_ptr, self._result_len
        if not n_params:
            error = _call(self._ref, self._ctx, None, _NONE, result_ptr, result_len)
        else:
            param_capi = (_Val * n_params)()
            n = 0
            try:
                for ty, val in zip(params, args):
                    ty.convert_to_c(store, val, pointer(param_capi[n]))
                    n += 1
                error = _call(self._ref, self._ctx, param_capi, ctypes.c_size_t(n), result_ptr, result_len)
            finally:
                for i in range(n):
                    _val_delete(byref(param_capi[i]))
        if error:
            _raise(error)
        if result_space is None:
            return None
        scalar = self._scalar
        if scalar is not None:
            return scalar.value
        assert result_ty is not None  # a result slot is made only for a result
        return result_ty.convert_from_c(result_space)

    def post_return(self, store) -> None:
        error = _post_return(self._ref, self._ctx)
        if error:
            _raise(error)
