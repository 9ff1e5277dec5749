"""The clocks-env guest under plain wasmtime: each export reaches its WASI import."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import pytest
from wasmtime import WasiConfig
from wasmtime import component as cm

API = "golemite:clocks-env/api"
WASM = Path(__file__).resolve().parents[2] / "guests" / "clocks-env" / "clocks-env.wasm"

# The conftest's LoadedGuest; not imported, as conftest modules are not importable.
LoadedGuest = Any
Load = Callable[..., LoadedGuest]

# The WASI functions the guest may import, and nothing else: the executor has to
# serve each of these durably, and a native stream `subscribe` would not link.
EXPECTED_IMPORTS = {
    "wasi:clocks/wall-clock@0.2.0": {"now"},
    "wasi:clocks/monotonic-clock@0.2.0": {"now", "subscribe-duration"},
    "wasi:io/poll@0.2.0": {"[method]pollable.block"},
    "wasi:io/error@0.2.0": set(),
    "wasi:io/streams@0.2.0": {"[method]output-stream.blocking-write-and-flush"},
    "wasi:random/random@0.2.0": {"get-random-bytes", "get-random-u64"},
    "wasi:random/insecure@0.2.0": {"get-insecure-random-u64"},
    "wasi:random/insecure-seed@0.2.0": {"insecure-seed"},
    "wasi:cli/environment@0.2.0": {"get-arguments", "get-environment"},
    "wasi:cli/stdout@0.2.0": {"get-stdout"},
    "wasi:cli/stderr@0.2.0": {"get-stderr"},
}


@pytest.fixture
def env(guest: Load) -> LoadedGuest:
    return guest("clocks-env")


def test_imports_only_the_wasi_functions_it_uses(env: LoadedGuest) -> None:
    component = cm.Component.from_file(env.engine, str(WASM))
    got: dict[str, set[str]] = {}
    for name, item in component.type.imports(env.engine).items():
        instance = item.ty
        assert isinstance(instance, cm.ComponentInstanceType), name
        got[name] = {n for n, e in instance.exports(env.engine).items() if isinstance(e.ty, cm.FuncType)}
    # Resource drops are not listed as functions here; the guest drops its
    # output streams and pollables.
    assert got == EXPECTED_IMPORTS


def test_wall_now_is_close_to_host_time(env: LoadedGuest) -> None:
    before = time.time()
    secs, nanos = env.call(API, "wall-now")
    after = time.time()
    assert 0 <= nanos < 1_000_000_000
    now = secs + nanos / 1e9
    assert before - 0.01 <= now <= after + 0.01


def test_monotonic_now_increases(env: LoadedGuest) -> None:
    a = env.call(API, "monotonic-now")
    time.sleep(0.002)
    b = env.call(API, "monotonic-now")
    assert isinstance(a, int)
    assert b - a >= 2_000_000


def test_random_bytes(env: LoadedGuest) -> None:
    a = env.call(API, "random-bytes", 16)
    b = env.call(API, "random-bytes", 16)
    assert isinstance(a, bytes)
    assert len(a) == len(b) == 16
    assert a != b
    assert env.call(API, "random-bytes", 0) == b""
    assert len(env.call(API, "random-bytes", 100_000)) == 100_000


def test_random_u64s(env: LoadedGuest) -> None:
    for name in ("random-u64", "insecure-random-u64"):
        values = {env.call(API, name) for _ in range(8)}
        assert all(0 <= v < 1 << 64 for v in values)
        assert len(values) > 1, name


def test_insecure_seed_is_a_pair_of_u64(env: LoadedGuest) -> None:
    seed = env.call(API, "insecure-seed")
    assert isinstance(seed, tuple)
    assert len(seed) == 2
    assert all(isinstance(v, int) and 0 <= v < 1 << 64 for v in seed)
    # wasmtime fixes the seed per store: a second call gives the same pair.
    assert env.call(API, "insecure-seed") == seed


def test_arguments_and_environment_come_from_the_wasi_config(guest: Load) -> None:
    argv = ["worker", "--flag", "ünïcode \U0001F600", ""]
    pairs = [("GOLEM_WORKER_NAME", "w1"), ("EMPTY", ""), ("UTF8", "é€")]

    def configure(cfg: WasiConfig) -> None:
        cfg.argv = argv
        cfg.env = pairs

    g = guest("clocks-env", wasi=configure)
    assert g.call(API, "get-arguments") == argv
    assert g.call(API, "get-environment") == pairs


def test_empty_arguments_and_environment(env: LoadedGuest) -> None:
    assert env.call(API, "get-arguments") == []
    assert env.call(API, "get-environment") == []


def test_print_and_eprint_reach_their_streams(env: LoadedGuest) -> None:
    env.call(API, "print", "hello ")
    env.call(API, "print", "wörld\n")
    env.call(API, "eprint", "oops\n")
    env.call(API, "print", "")
    assert b"".join(env.stdout).decode() == "hello wörld\n"
    assert b"".join(env.stderr).decode() == "oops\n"


def test_print_larger_than_one_write(env: LoadedGuest) -> None:
    # blocking-write-and-flush takes at most 4096 bytes a call; the guest splits.
    text = "".join(f"{i:06d}\n" for i in range(3000))
    env.call(API, "print", text)
    assert b"".join(env.stdout).decode() == text
    assert max(len(chunk) for chunk in env.stdout) <= 4096


def test_sleep_ms_waits_and_measures(env: LoadedGuest) -> None:
    start = time.monotonic()
    elapsed_ns = env.call(API, "sleep-ms", 20)
    took = time.monotonic() - start
    assert elapsed_ns >= 20_000_000
    assert took >= 0.020
    # Generous upper bound: the machine is shared.
    assert elapsed_ns < 1_000_000_000
    assert took < 1.0
    assert env.call(API, "sleep-ms", 0) >= 0


def test_memory_is_freed_after_each_call(env: LoadedGuest) -> None:
    # Leaked buffers would need about 1.6 MiB for the host-returned lists and
    # 6 MiB for the print arguments; the store allows 1 MiB of linear memory.
    # (Sizes are kept small because wasmtime-py converts list<u8> results
    # byte by byte, about 0.7 ms per KiB.)
    env.store.set_limits(memory_size=1 << 20)
    for _ in range(100):
        assert len(env.call(API, "random-bytes", 16 << 10)) == 16 << 10
    line = "x" * (32 << 10)
    for _ in range(200):
        env.call(API, "print", line)
    assert sum(len(c) for c in env.stdout) == 200 * len(line)
