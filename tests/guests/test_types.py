"""The types guest under plain wasmtime: every echo export round-trips its value.

The assertions also pin how wasmtime-py represents each WIT kind, which the
executor's value codec relies on. Note the one surprise: an option, result or
variant is a `Variant(tag, payload)` only when two of its cases would map to the
same Python type; otherwise it is the bare payload (`None` for a unit case), so
e.g. `result<u32, string>` is `5` or `"bad"`, and `shape` is `None`, `1.5`,
`(1.0, 2.0)` or `"name"`.
"""

from __future__ import annotations

import itertools
import math
import struct
from typing import Any, Callable

import pytest
from wasmtime import WasmtimeError
from wasmtime.component import Record, Variant

API = "golemite:types/api"

# The conftest's LoadedGuest; not imported, as conftest modules are not importable.
LoadedGuest = Any


@pytest.fixture
def types(guest: Callable[..., LoadedGuest]) -> LoadedGuest:
    return guest("types")


def echo(g: LoadedGuest, kind: str, value: Any) -> Any:
    return g.call(API, f"echo-{kind}", value)


def rec(**fields: Any) -> Record:
    r = Record()
    for name, value in fields.items():
        # WIT names are kebab-case and `from` is a Python keyword, so callers
        # spell them with underscores and trailing underscores.
        setattr(r, name.rstrip("_").replace("_", "-"), value)
    return r


def plain(value: Any) -> Any:
    """Records as dicts, recursively, so equality checks both sides' fields."""
    if isinstance(value, Record):
        return {k: plain(v) for k, v in vars(value).items()}
    if isinstance(value, Variant):
        return ("Variant", value.tag, plain(value.payload))
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    return value


def f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def test_bool(types: LoadedGuest) -> None:
    assert echo(types, "bool", True) is True
    assert echo(types, "bool", False) is False


@pytest.mark.parametrize(
    ("kind", "bits", "signed"),
    [("s8", 8, True), ("s16", 16, True), ("s32", 32, True), ("s64", 64, True),
     ("u8", 8, False), ("u16", 16, False), ("u32", 32, False), ("u64", 64, False)],
)
def test_integers_at_their_edges(types: LoadedGuest, kind: str, bits: int, signed: bool) -> None:
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    for v in (lo, lo + 1, 0, 1, 42 % hi, hi - 1, hi):
        got = echo(types, kind, v)
        assert type(got) is int
        assert got == v


def test_host_wraps_out_of_range_integers_silently(types: LoadedGuest) -> None:
    # wasmtime-py truncates to the WIT width instead of refusing, so range
    # checks (SPEC: 400 on an out-of-range number) are the codec's job.
    assert echo(types, "u8", 256) == 0
    assert echo(types, "u8", -1) == 255
    assert echo(types, "s8", 200) == -56
    assert echo(types, "u64", 1 << 64) == 0


def test_floats_must_be_python_floats(types: LoadedGuest) -> None:
    # A JSON integer for an f64 parameter has to be converted by the codec.
    with pytest.raises(TypeError):
        echo(types, "f64", 1)
    assert echo(types, "f64", 1.0) == 1.0


@pytest.mark.parametrize("v", [0.0, -0.0, 1.5, -2.25, 3.4028234663852886e38, 1.401298464324817e-45,
                               math.inf, -math.inf, f32(0.1)])
def test_f32(types: LoadedGuest, v: float) -> None:
    got = echo(types, "f32", v)
    assert got == v
    assert math.copysign(1.0, got) == math.copysign(1.0, v)


@pytest.mark.parametrize("v", [0.0, -0.0, 0.1, -1e300, 5e-324, 1.7976931348623157e308, math.inf, -math.inf])
def test_f64(types: LoadedGuest, v: float) -> None:
    got = echo(types, "f64", v)
    assert got == v
    assert math.copysign(1.0, got) == math.copysign(1.0, v)


def test_f32_rounds_like_single_precision(types: LoadedGuest) -> None:
    # The host narrows a Python float to f32 on the way in; 0.1 comes back as
    # its nearest single-precision value, not as 0.1.
    assert echo(types, "f32", 0.1) == f32(0.1) != 0.1


@pytest.mark.parametrize("c", ["a", "\x00", "é", "\u20ac", "\uffff", "\U0001F600", "\U0010FFFF"])
def test_char(types: LoadedGuest, c: str) -> None:
    assert echo(types, "char", c) == c


@pytest.mark.parametrize(
    "s", ["", "hello", "héllo wörld", "emoji \U0001F600 and \u20ac", "x" * 70_000, "nul\x00inside"]
)
def test_string(types: LoadedGuest, s: str) -> None:
    assert echo(types, "string", s) == s


def test_bytes_are_python_bytes(types: LoadedGuest) -> None:
    assert echo(types, "bytes", b"") == b""
    assert echo(types, "bytes", bytes(range(256))) == bytes(range(256))
    # list<u8> is not accepted as a Python list.
    with pytest.raises(TypeError):
        echo(types, "bytes", [1, 2, 3])


def test_option(types: LoadedGuest) -> None:
    assert echo(types, "option", None) is None
    assert echo(types, "option", "") == ""
    assert echo(types, "option", "some text") == "some text"


def test_nested_option_is_tagged(types: LoadedGuest) -> None:
    # Outer none and some(none) would both be None, so wasmtime-py tags the
    # outer option; the inner one stays bare.
    for v in (Variant("none"), Variant("some", None), Variant("some", 3), Variant("some", 0),
              Variant("some", 0xFFFFFFFF)):
        got = echo(types, "nested-option", v)
        assert isinstance(got, Variant)
        assert (got.tag, got.payload) == (v.tag, v.payload)
    with pytest.raises(TypeError):
        echo(types, "nested-option", None)


def test_result_with_both_payloads(types: LoadedGuest) -> None:
    assert echo(types, "result", 0) == 0
    assert echo(types, "result", 0xFFFFFFFF) == 0xFFFFFFFF
    assert echo(types, "result", "") == ""
    assert echo(types, "result", "bad input") == "bad input"


def test_unit_result_is_tagged(types: LoadedGuest) -> None:
    for tag in ("ok", "err"):
        got = echo(types, "unit-result", Variant(tag))
        assert isinstance(got, Variant)
        assert (got.tag, got.payload) == (tag, None)


def test_result_with_unit_ok(types: LoadedGuest) -> None:
    assert echo(types, "result-unit-ok", None) is None
    assert echo(types, "result-unit-ok", "failed") == "failed"
    assert echo(types, "result-unit-ok", "") == ""


@pytest.mark.parametrize("c", ["red", "green", "blue"])
def test_enum(types: LoadedGuest, c: str) -> None:
    assert echo(types, "enum", c) == c


def test_enum_rejects_unknown_case(types: LoadedGuest) -> None:
    with pytest.raises((ValueError, WasmtimeError, TypeError)):
        echo(types, "enum", "purple")


def test_every_flags_subset(types: LoadedGuest) -> None:
    names = ["read", "write", "exec"]
    for n in range(len(names) + 1):
        for subset in itertools.combinations(names, n):
            got = echo(types, "flags", set(subset))
            assert got == set(subset)
            assert isinstance(got, set)


@pytest.mark.parametrize(
    "v",
    [None, 0.0, 2.5, -1e-300, (0.0, 0.0), (1.5, -2.5), (3.4028234663852886e38, f32(0.1)),
     "", "triangle", "ünïcode \U0001F600"],
)
def test_variant_each_case(types: LoadedGuest, v: Any) -> None:
    got = echo(types, "variant", v)
    assert got == v
    assert type(got) is type(v)


def test_tuple(types: LoadedGuest) -> None:
    for v in [(0, 0, "", False), (255, -32768, "text", True), (7, 32767, "é\U0001F600", False)]:
        got = echo(types, "tuple", v)
        assert got == v
        assert isinstance(got, tuple)


def test_list_u64(types: LoadedGuest) -> None:
    for v in [[], [0], [1, 2, 3], [0xFFFFFFFFFFFFFFFF, 0, 1 << 63], list(range(5000))]:
        assert echo(types, "list-u64", v) == v


def make_drawing(n_lines: int = 2, meta: list[tuple[str, int]] | None = None) -> Record:
    lines = [
        rec(from_=rec(x=i, y=-i), to=rec(x=-(2**31), y=2**31 - 1), label=(None if i % 2 else f"line {i}"))
        for i in range(n_lines)
    ]
    return rec(name="sketch \u20ac", lines=lines, tags=["a", "", "long tag"], palette=["red", "blue", "green", "red"],
               meta=meta)


@pytest.mark.parametrize(
    "d",
    [
        make_drawing(),
        make_drawing(meta=[("author", 0xFFFFFFFFFFFFFFFF), ("", 0)]),
        make_drawing(meta=[]),
        make_drawing(0),
        rec(name="", lines=[], tags=[], palette=[], meta=None),
        make_drawing(200, meta=[(f"k{i}", i) for i in range(50)]),
    ],
)
def test_drawing(types: LoadedGuest, d: Record) -> None:
    got = echo(types, "drawing", d)
    assert isinstance(got, Record)
    assert plain(got) == plain(d)
    line0 = got.lines[0] if got.lines else None
    if line0 is not None:
        assert isinstance(getattr(line0, "from"), Record)
        assert getattr(line0, "from").x == 0


def test_describe(types: LoadedGuest) -> None:
    assert types.call(API, "describe", "box", 3, 0.5, ["a", "b"]) == "box:3:2"
    assert types.call(API, "describe", "", 0, -1.0, []) == ":0:0"
    assert types.call(API, "describe", "ünï", 4294967295, math.pi, [""] * 12) == "ünï:4294967295:12"


def test_sum_point(types: LoadedGuest) -> None:
    got = types.call(API, "sum-point", rec(x=1, y=2), 10, -20)
    assert isinstance(got, Record)
    assert (got.x, got.y) == (11, -18)
    got = types.call(API, "sum-point", rec(x=-(2**31), y=0), 0, 2**31 - 1)
    assert (got.x, got.y) == (-(2**31), 2**31 - 1)


def test_argument_memory_is_freed_after_each_call(types: LoadedGuest) -> None:
    # 300 echoes of 32 KiB would need about 10 MiB if post-return leaked the
    # argument buffers; the store allows 2 MiB of linear memory.
    g = types
    g.store.set_limits(memory_size=2 << 20)
    payload = "y" * (32 << 10)
    for _ in range(300):
        assert echo(g, "string", payload) == payload
    d = make_drawing(50, meta=[("k", 1)] * 20)
    for _ in range(300):
        assert plain(echo(g, "drawing", d)) == plain(d)
    for _ in range(100):
        assert g.call(API, "describe", payload, 1, 1.0, ["t"] * 100) == f"{payload}:1:100"
