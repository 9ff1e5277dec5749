"""One correction to wasmtime-py's value lowering, applied when the executor is imported.

wasmtime-py lowers an option/result/variant value without a tag whenever the Python
classes of its cases look disjoint, then picks the first case whose classes the value
is an instance of. That guesses wrong in two ways: `bool` is an instance of `int`
(so `err(true)` of `result<s64, bool>` is sent as `ok(1)`), and a case whose payload
is an untagged option counts `object` among its classes (so it swallows every value).
The codec knows the case it means, so it always hands over `Variant(tag, payload)`;
this patch makes wasmtime-py honour that tag for untagged types too.
"""

from __future__ import annotations

import ctypes
from ctypes import byref

from wasmtime import _ffi as ffi
from wasmtime.component import Variant
from wasmtime.component._types import VariantLikeType

_original_lower = VariantLikeType._lower


def _lower_with_explicit_tag(self, store, val):
    if not isinstance(val, Variant):
        return _original_lower(self, store, val)
    for name, ty in self._cases():
        if name != val.tag:
            continue
        if ty is None:
            return name, None
        raw = ffi.wasmtime_component_val_t()
        ty.convert_to_c(store, val.payload, ctypes.pointer(raw))
        return name, ffi.wasmtime_component_val_new(byref(raw))
    raise ValueError(f"no case {val.tag!r} in this variant")


def apply() -> None:
    VariantLikeType._lower = _lower_with_explicit_tag


apply()
