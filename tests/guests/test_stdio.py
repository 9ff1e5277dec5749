"""The stdio guest under plain wasmtime: `run` doubles the JSON number on stdin."""

from __future__ import annotations

import json
import tempfile
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from wasmtime import WasiConfig

# The conftest's LoadedGuest; not imported, as conftest modules are not importable.
LoadedGuest = Any
Load = Callable[..., LoadedGuest]


def run_with_stdin(g: LoadedGuest, data: bytes) -> str:
    """Feed `data` as stdin to `run` on a live instance and return its stdout.

    A fresh WasiConfig between calls takes effect for the next call, which is
    how the stdio calling convention reuses one instance.
    """
    out: list[bytes] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stdin"
        path.write_bytes(data)
        cfg = WasiConfig()
        cfg.stdin_file = str(path)
        cfg.stdout_custom = lambda chunk: out.append(bytes(chunk))
        g.store.set_wasi(cfg)
        assert g.call(None, "run") is None
    return b"".join(out).decode()


@pytest.fixture
def stdio(guest: Load) -> LoadedGuest:
    return guest("stdio")


@pytest.mark.parametrize(
    ("stdin", "stdout"),
    [
        (b"21", "42"),
        (b"2.5", "5"),
        (b"0", "0"),
        (b"-0", "0"),
        (b"-7", "-14"),
        (b"0.1", "0.2"),
        (b"1.25", "2.5"),
        (b"-0.0005", "-0.001"),
        (b"1e3", "2000"),
        (b"2.5E+2", "500"),
        (b"1.5e-3", "0.003"),
        (b"9007199254740993", "18014398509481986"),
        (b"18446744073709551615", "36893488147419103230"),
        (b"  \n\t21\r\n ", "42"),
    ],
)
def test_doubles_json_numbers(stdio: LoadedGuest, stdin: bytes, stdout: str) -> None:
    assert run_with_stdin(stdio, stdin) == stdout


@pytest.mark.parametrize(
    "stdin",
    [b"abc", b"", b"   ", b"\"21\"", b"[21]", b"21 22", b"01", b"1.", b".5", b"+1", b"1e", b"--1", b"0x10",
     b"NaN", b"Infinity", b"1_000", "\u0661".encode()],
)
def test_non_numbers_give_a_json_string(stdio: LoadedGuest, stdin: bytes) -> None:
    out = run_with_stdin(stdio, stdin)
    assert json.loads(out) == "not a number"


def test_no_stdin_at_all_is_an_error_string(stdio: LoadedGuest) -> None:
    # The conftest's WasiConfig sets no stdin: the stream is closed at once.
    assert stdio.call(None, "run") is None
    assert json.loads(stdio.stdout_text()) == "not a number"


def test_one_instance_serves_many_calls(stdio: LoadedGuest) -> None:
    assert [run_with_stdin(stdio, str(n).encode()) for n in range(5)] == ["0", "2", "4", "6", "8"]


def exact_double(text: str) -> Decimal:
    d = Decimal(text)
    with localcontext() as ctx:
        ctx.prec = len(text) + 2
        return 2 * d


def test_input_and_output_longer_than_one_read_and_write(stdio: LoadedGuest) -> None:
    # 200 000 digits: several 64 KiB reads and many 4 KiB writes.
    text = "9" + "142857" * 33_333 + ".5"
    out = run_with_stdin(stdio, text.encode())
    assert len(out) >= 200_000
    assert Decimal(out) == exact_double(text)


def test_huge_exponents_switch_to_exponent_notation(stdio: LoadedGuest) -> None:
    assert run_with_stdin(stdio, b"1e400") == "2" + "0" * 400
    assert run_with_stdin(stdio, b"5E-2000") == "1e-1999"
    assert run_with_stdin(stdio, b"-3e999999999999999") == "-6e999999999999999"


def test_exponents_past_what_the_guest_tracks_are_refused(stdio: LoadedGuest) -> None:
    assert json.loads(run_with_stdin(stdio, b"3e99999999999999999999")) == "number out of range"
    assert json.loads(run_with_stdin(stdio, b"3e-1000000000000001")) == "number out of range"
    assert json.loads(run_with_stdin(stdio, b"3e99999999999999999999x")) == "not a number"


def test_spec_params_as_python_serialises_them(stdio: LoadedGuest) -> None:
    # The executor feeds json.dumps(params); Python writes floats like 1e-07.
    for value in (21, 2.5, 1e-07, 1e22, -0.0, 123456789.125):
        out = run_with_stdin(stdio, json.dumps(value).encode())
        assert Decimal(out) == 2 * Decimal(json.dumps(value))
        assert json.loads(out) == 2 * value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.decimals(allow_nan=False, allow_infinity=False))
@example(Decimal("0.5"))
@example(Decimal("-1E+5"))
@example(Decimal("0E-7"))
def test_doubling_is_exact(stdio: LoadedGuest, d: Decimal) -> None:
    text = str(d)  # Decimal's notation ("1.5E+3", "0E-7") is valid JSON
    out = run_with_stdin(stdio, text.encode())
    doubled = exact_double(text)
    assert Decimal(out) == doubled
    json.loads(out)
    if doubled == doubled.to_integral_value() and abs(doubled) < Decimal("1e100"):
        # Integral results are written as integers.
        assert out.lstrip("-").isdigit(), out
