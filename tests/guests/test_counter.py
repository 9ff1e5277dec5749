"""The counter guest under plain wasmtime: every export of golemite:counter/api."""

from __future__ import annotations

from typing import Any, Callable

from wasmtime import component as cm

Load = Callable[..., Any]

API = "golemite:counter/api"


def test_increment_counts_up_and_get_reads_without_changing(guest: Load) -> None:
    g = guest("counter")
    assert g.call(API, "get") == 0
    assert [g.call(API, "increment") for _ in range(3)] == [1, 2, 3]
    assert g.call(API, "get") == 3
    assert g.call(API, "get") == 3


def test_each_instance_has_its_own_counter(guest: Load) -> None:
    a = guest("counter")
    b = guest("counter")
    a.call(API, "increment")
    a.call(API, "increment")
    assert b.call(API, "increment") == 1
    assert a.call(API, "get") == 2


def test_echo_round_trips_strings(guest: Load) -> None:
    g = guest("counter")
    for s in ["", "a", "héllo wörld ✓ 日本語 🚀", "x" * 100_000]:
        assert g.call(API, "echo", s) == s
    # Repeated calls must not leak: post-return frees each returned buffer.
    for _ in range(200):
        assert g.call(API, "echo", "y" * 10_000) == "y" * 10_000


def _with_fake_random(guest: Load, values: list[int]) -> tuple[Any, list[int]]:
    served: list[int] = []
    it = iter(values)

    def get_random_u64(_store: object) -> int:
        v = next(it)
        served.append(v)
        return v

    def link(linker: cm.Linker) -> None:
        with linker.root() as root, root.add_instance("wasi:random/random@0.2.12") as iface:
            iface.add_func("get-random-u64", get_random_u64)

    return guest("counter", link=link), served


def test_random_calls_uses_wasi_random(guest: Load) -> None:
    g = guest("counter")
    r = g.call(API, "random-calls", 5)
    assert isinstance(r, int) and 0 <= r < 2**64
    assert g.call(API, "random-calls", 0) == 0


def test_random_calls_makes_exactly_n_imports_and_xors_them(guest: Load) -> None:
    values = [0x0123456789ABCDEF, 0xFFFF0000FFFF0000, 7, 2**64 - 1, 42, 99]
    g, served = _with_fake_random(guest, values)
    expected = 0
    for v in values[:5]:
        expected ^= v
    assert g.call(API, "random-calls", 5) == expected
    assert served == values[:5]


def test_burn_is_deterministic_and_depends_on_n(guest: Load) -> None:
    g = guest("counter")
    h = guest("counter")
    results = [g.call(API, "burn", n) for n in (0, 1, 2, 1000, 100_000)]
    assert results == [h.call(API, "burn", n) for n in (0, 1, 2, 1000, 100_000)]
    assert len(set(results)) == len(results)
    assert all(0 <= r < 2**32 for r in results)
    assert results[0] == 0x9E3779B9
