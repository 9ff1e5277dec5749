"""JSON values <-> wasmtime component values, compiled once per type.

`lowerer(t)` returns a function turning a JSON value into what wasmtime-py accepts for
WIT type `t`; `lifter(t)` the reverse. Converters are built from the plain type tree once
per function and cached, so an invocation pays no type inspection. A mismatch raises
`ValueMismatch` carrying the path inside the value, so the API can say exactly which
parameter and field was wrong (SPEC §6).
"""

from __future__ import annotations

import math
import sys
from typing import Any, Callable

import msgspec
from wasmtime import component as cm

from . import types as T
from .host.handles import HandleError
from .host.state import current, current_or_none
from . import wasmtime_compat  # noqa: F401 - makes wasmtime-py honour explicit variant tags

Lower = Callable[[Any], Any]
Lift = Callable[[Any], Any]

F32_MAX = 3.4028234663852886e38  # the largest finite f32
_INT64_MIN, _UINT64_MAX = -(1 << 63), (1 << 64) - 1  # the integers the oplog's msgpack can hold


class ValueMismatch(ValueError):
    """A JSON value does not fit the WIT type expected at `path`."""

    def __init__(self, expected: str, got: Any, path: list[str] | None = None):
        self.expected = expected
        self.got = got
        self.path = path or []
        super().__init__(self.describe())

    def at(self, segment: str) -> "ValueMismatch":
        self.path.insert(0, segment)
        self.args = (self.describe(),)
        return self

    def describe(self, root: str = "") -> str:
        where = root + "".join(self.path)
        prefix = f"{where}: " if where else ""
        return f"{prefix}expected {self.expected}, got {_describe_json(self.got)}"


class Found:
    """What was found, already put in words (not a JSON value to describe)."""

    __slots__ = ("words",)

    def __init__(self, words: str) -> None:
        self.words = words


def _describe_json(v: Any) -> str:
    if isinstance(v, Found):
        return v.words
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return f"the number {v!r}"
    if isinstance(v, str):
        return f"the string {v!r}" if len(v) <= 40 else "a string"
    if isinstance(v, list):
        return f"an array of {len(v)}"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def type_name(t: T.WitType) -> str:
    """A short WIT-like spelling of a type, for error messages."""
    simple = {T.Bool: "bool", T.S8: "s8", T.S16: "s16", T.S32: "s32", T.S64: "s64",
              T.U8: "u8", T.U16: "u16", T.U32: "u32", T.U64: "u64", T.F32: "f32",
              T.F64: "f64", T.Chr: "char", T.Str: "string"}
    name = simple.get(type(t))
    if name:
        return name
    if isinstance(t, T.List):
        return f"list<{type_name(t.inner)}>"
    if isinstance(t, T.Option):
        return f"option<{type_name(t.inner)}>"
    if isinstance(t, T.Tuple):
        return "tuple<" + ", ".join(type_name(i) for i in t.items) + ">"
    if isinstance(t, T.Result):
        ok = "_" if t.ok is None else type_name(t.ok)
        err = "_" if t.err is None else type_name(t.err)
        return f"result<{ok}, {err}>"
    if isinstance(t, T.Record):
        return "record {" + ", ".join(f.name for f in t.fields) + "}"
    if isinstance(t, T.Variant):
        return "variant {" + ", ".join(c.name for c in t.cases) + "}"
    if isinstance(t, T.Enum):
        return "enum {" + ", ".join(t.cases) + "}"
    if isinstance(t, T.Flags):
        return "flags {" + ", ".join(t.names) + "}"
    return "resource handle"


# ---------------------------------------------------------------------- lowering (JSON -> wasm)

_encode_type = msgspec.json.Encoder().encode
_lowerers: dict[bytes, Lower] = {}
_lifters: dict[bytes, Lift] = {}


def lowerer(t: T.WitType) -> Lower:
    """The JSON -> wasmtime converter of `t`, built once per distinct type."""
    return _cached(_lowerers, _build_lowerer, t)


def lifter(t: T.WitType) -> Lift:
    """The wasmtime -> JSON converter of `t`, built once per distinct type."""
    return _cached(_lifters, _build_lifter, t)


def _cached(cache: dict, build: Callable, t: T.WitType):
    key = _encode_type(t)
    f = cache.get(key)
    if f is None:
        f = cache[key] = build(t)
    return f


def _build_lowerer(t: T.WitType) -> Lower:
    if isinstance(t, T.Bool):
        def low_bool(v):
            if v is True or v is False:
                return v
            raise ValueMismatch("a boolean", v)
        return low_bool
    if type(t) in T.INTEGER_RANGES:
        lo, hi = T.INTEGER_RANGES[type(t)]
        name = type_name(t)

        def low_int(v):
            if type(v) is int and lo <= v <= hi:
                return v
            if type(v) is float and v.is_integer() and lo <= v <= hi:
                return int(v)
            if type(v) in (int, float):
                raise ValueMismatch(f"{name} (an integer from {lo} to {hi})", v)
            raise ValueMismatch(f"{name} (a number)", v)
        return low_int
    if isinstance(t, (T.F32, T.F64)):
        name = type_name(t)
        # JSON numbers are finite; one past f32's range would reach the guest as infinity.
        limit = F32_MAX if isinstance(t, T.F32) else sys.float_info.max

        def low_float(v):
            if type(v) is float or (type(v) is int and _INT64_MIN <= v <= _UINT64_MAX):
                if -limit <= v <= limit:
                    return float(v)
                raise ValueMismatch(f"{name} (a number from {-limit:g} to {limit:g})", v)
            if type(v) is int:
                # The params are recorded as sent, and an integer literal past 64 bits
                # cannot be: the same number with an exponent can (1e30, not 10**30 digits).
                raise ValueMismatch(f"{name} (a number; an integer literal past 64 bits must be written "
                                    "with an exponent)", Found("a longer integer"))
            raise ValueMismatch(f"{name} (a number)", v)
        return low_float
    if isinstance(t, T.Chr):
        def low_char(v):
            if type(v) is int and 0 <= v <= 0x10FFFF and not 0xD800 <= v <= 0xDFFF:
                return chr(v)
            if type(v) is str and len(v) == 1:
                return v
            raise ValueMismatch("char (a Unicode code point number)", v)
        return low_char
    if isinstance(t, T.Str):
        def low_str(v):
            if type(v) is str:
                return v
            raise ValueMismatch("string", v)
        return low_str
    if isinstance(t, T.List):
        return _lower_list(t)
    if isinstance(t, T.Tuple):
        return _lower_tuple(t)
    if isinstance(t, T.Record):
        return _lower_record(t)
    if isinstance(t, T.Enum):
        cases = frozenset(t.cases)
        expected = type_name(t)

        def low_enum(v):
            if type(v) is str and v in cases:
                return v
            raise ValueMismatch(f"one of {expected}", v)
        return low_enum
    if isinstance(t, T.Flags):
        names = frozenset(t.names)
        expected = type_name(t)

        def low_flags(v):
            if type(v) is list and all(type(n) is str and n in names for n in v):
                return set(v)
            unknown = [n for n in v if type(n) is not str or n not in names] if type(v) is list else []
            if unknown:
                raise ValueMismatch(f"an array of names from {expected}", Found(f"unknown flag {unknown[0]!r}"))
            raise ValueMismatch(f"an array of names from {expected}", v)
        return low_flags
    if isinstance(t, T.Option):
        return _lower_option(t)
    if isinstance(t, T.Result):
        return _lower_result(t)
    if isinstance(t, T.Variant):
        return _lower_variant(t)
    assert isinstance(t, T.Handle), f"no lowering for {type_name(t)}"
    owned = t.mode == "Owned"

    def low_handle(v):
        if type(v) is not str or not v.startswith("worker://"):
            raise ValueMismatch('a resource handle ("worker://{templateId}/{workerName}/{id}")', v)
        state = current_or_none()
        if state is None:
            return v  # checked for shape only; resolved on the guest thread, where the table lives
        try:
            return state.handles.take(v) if owned else state.handles.lookup(v)[1]
        except HandleError as e:
            raise ValueMismatch("a live resource handle of this worker", Found(str(e))) from None
    return low_handle


def _lower_list(t: T.List) -> Lower:
    inner = lowerer(t.inner)
    as_bytes = isinstance(t.inner, T.U8)
    expected = f"{type_name(t)} (an array)"

    def low_list(v):
        if type(v) is not list:
            if as_bytes and type(v) is bytes:
                return v
            raise ValueMismatch(expected, v)
        out = []
        for i, item in enumerate(v):
            try:
                out.append(inner(item))
            except ValueMismatch as e:
                raise e.at(f"[{i}]") from None
        return bytes(out) if as_bytes else out
    return low_list


def _lower_tuple(t: T.Tuple) -> Lower:
    items = [lowerer(i) for i in t.items]
    n = len(items)
    expected = f"{type_name(t)} (an array of {n})"

    def low_tuple(v):
        if type(v) is not list or len(v) != n:
            raise ValueMismatch(expected, v)
        out = []
        for i, (f, item) in enumerate(zip(items, v)):
            try:
                out.append(f(item))
            except ValueMismatch as e:
                raise e.at(f"[{i}]") from None
        return tuple(out)
    return low_tuple


def _lower_record(t: T.Record) -> Lower:
    fields = [(f.name, lowerer(f.typ), isinstance(f.typ, T.Option)) for f in t.fields]
    known = frozenset(f.name for f in t.fields)
    expected = f"{type_name(t)} (an object)"

    def low_record(v):
        if type(v) is not dict:
            raise ValueMismatch(expected, v)
        extra = [k for k in v if k not in known]
        if extra:
            raise ValueMismatch(f"only the fields of {type_name(t)}", Found(f"unknown field {extra[0]!r}"))
        r = cm.Record()
        for name, f, optional in fields:
            if name not in v:
                if optional:
                    setattr(r, name, f(None))  # an omitted option field is none
                    continue
                raise ValueMismatch(f"field {name!r}", Found("an object without it")).at(f".{name}")
            try:
                setattr(r, name, f(v[name]))
            except ValueMismatch as e:
                raise e.at(f".{name}") from None
        return r
    return low_record


def _case_lowerers(t: T.WitType) -> dict[str, Lower | None]:
    return {n: (None if ct is None else lowerer(ct)) for n, ct in T.variant_cases(t)}


def _case(name: str, payload: Any) -> cm.Variant:
    # Always tagged: see wasmtime_compat for why an untagged value can go to the wrong case.
    return cm.Variant(name, payload)


def _lower_option(t: T.Option) -> Lower:
    inner = lowerer(t.inner)
    # A bare inner value cannot tell some(none) from none when the inner type is itself
    # nullable, so nested options use {"some": v} on the outside.
    nested = isinstance(t.inner, T.Option)

    def low_option(v):
        if v is None:
            return _case("none", None)
        if nested:
            if type(v) is dict and len(v) == 1 and "some" in v:
                v = v["some"]
            else:
                raise ValueMismatch(f"{type_name(t)} (null or {{\"some\": value}})", v)
        try:
            return _case("some", inner(v))
        except ValueMismatch as e:
            raise e.at("?") from None
    return low_option


def _lower_cases(t: T.WitType, what: str) -> Lower:
    lows = _case_lowerers(t)
    expected = f"{type_name(t)} ({what})"

    def low_case(v):
        if type(v) is str and v in lows and lows[v] is None:
            return _case(v, None)  # a unit case may be given by its bare name
        if type(v) is not dict or len(v) != 1:
            raise ValueMismatch(expected, v)
        (name, payload), = v.items()
        if name not in lows:
            raise ValueMismatch(expected, Found(f"unknown case {name!r}"))
        low = lows[name]
        if low is None:
            if payload is not None:
                raise ValueMismatch(f"null payload for case {name!r}", payload).at(f".{name}")
            return _case(name, None)
        try:
            return _case(name, low(payload))
        except ValueMismatch as e:
            raise e.at(f".{name}") from None
    return low_case


def _lower_result(t: T.Result) -> Lower:
    return _lower_cases(t, '{"ok": value} or {"err": value}')


def _lower_variant(t: T.Variant) -> Lower:
    return _lower_cases(t, '{"case-name": payload}')


# ---------------------------------------------------------------------- lifting (wasm -> JSON)

def _identity(v):
    return v


def _build_lifter(t: T.WitType) -> Lift:
    if isinstance(t, (T.Bool, T.Str, T.Enum)) or type(t) in T.INTEGER_RANGES:
        return _identity
    if isinstance(t, (T.F32, T.F64)):
        def lift_float(v):
            # JSON has no NaN/Infinity; keep them readable rather than failing the call.
            if math.isfinite(v):
                return v
            return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
        return lift_float
    if isinstance(t, T.Chr):
        return ord
    if isinstance(t, T.List):
        if isinstance(t.inner, T.U8):
            return list
        inner = lifter(t.inner)
        if inner is _identity:
            return list
        return lambda v: [inner(x) for x in v]
    if isinstance(t, T.Tuple):
        items = [lifter(i) for i in t.items]
        return lambda v: [f(x) for f, x in zip(items, v)]
    if isinstance(t, T.Record):
        fields = [(f.name, lifter(f.typ)) for f in t.fields]
        return lambda v: {name: f(getattr(v, name)) for name, f in fields}
    if isinstance(t, T.Flags):
        order = list(t.names)
        return lambda v: [n for n in order if n in v]
    if isinstance(t, T.Handle):
        return lambda v: current().handles.export(v)
    return _lift_cases(t)


def _exact_classes(t: T.WitType | None) -> frozenset[type]:
    """The exact Python classes wasmtime-py lifts a payload of `t` to (None for no payload).

    Exact classes, not isinstance: `True` is an instance of `int`, and an untagged option
    payload is None or its inner value, never "any object".
    """
    if t is None:
        return frozenset({type(None)})
    if isinstance(t, (T.Option, T.Result, T.Variant)):
        cases = T.variant_cases(t)
        if T.is_tagged(cases):
            return frozenset({cm.Variant})
        out: set[type] = set()
        for _, ct in cases:
            out |= _exact_classes(ct)
        return frozenset(out)
    return frozenset(T.python_classes(t))


def _lift_cases(t: T.WitType) -> Lift:
    cases = T.variant_cases(t)
    tagged = T.is_tagged(cases)
    lifts = {n: (None if ct is None else lifter(ct)) for n, ct in cases}
    by_class = [(_exact_classes(ct), n) for n, ct in cases]
    is_option = isinstance(t, T.Option)
    nested = isinstance(t, T.Option) and isinstance(t.inner, T.Option)

    def case_of(v) -> tuple[str, Any]:
        if tagged:
            return v.tag, v.payload
        cls = type(v)
        for classes, n in by_class:
            if cls in classes:
                return n, v
        raise TypeError(f"cannot tell the case of {v!r} for {type_name(t)}")

    def lift_case(v):
        name, payload = case_of(v)
        f = lifts[name]
        out = None if f is None else f(payload)
        if is_option:
            if name == "none":
                return None
            return {"some": out} if nested else out
        return {name: out}
    return lift_case


def lower_params(params: list[T.Parameter], values: Any, lowerers: tuple[Lower, ...] | None = None) -> list[Any]:
    """Lower a JSON params array; errors name the parameter (SPEC §6)."""
    if lowerers is None:
        lowerers = tuple(lowerer(p.typ) for p in params)
    if type(values) is not list:
        raise ValueMismatch("params as a JSON array", values)
    if len(values) != len(params):
        names = ", ".join(p.name for p in params) or "none"
        raise ValueMismatch(f"{len(params)} parameter(s) ({names})", Found(f"{len(values)} value(s)"))
    out = []
    for p, low, v in zip(params, lowerers, values):
        try:
            out.append(low(v))
        except ValueMismatch as e:
            raise e.at(f"parameter {p.name!r}") from None
    return out
