"""Baselines under plain wasmtime (no golemite): what the same guest costs bare."""

from __future__ import annotations

import time
from pathlib import Path

from wasmtime import Engine, Store
from wasmtime import component as cm

from .common import COUNTER, guest_path


class RawGuest:
    """One guest instantiated with `wasmtime.component` and WASI from wasmtime, nothing else."""

    def __init__(self, name: str, engine: Engine | None = None, component: cm.Component | None = None):
        self.engine = engine or Engine()
        self.component = component or cm.Component.from_file(self.engine, str(guest_path(name)))
        linker = cm.Linker(self.engine)
        linker.add_wasip2()
        self.store = Store(self.engine)
        self.instance = linker.instantiate(self.store, self.component)

    def func(self, interface: str, name: str) -> cm.Func:
        parent = self.instance.get_export_index(self.store, interface)
        idx = self.instance.get_export_index(self.store, name, parent)
        func = self.instance.get_func(self.store, idx)
        assert func is not None, f"{interface}/{name} not exported"
        return func

    def call(self, func: cm.Func, *args):
        result = func(self.store, *args)
        func.post_return(self.store)
        return result


class RawCallLoop:
    """`counter.increment` called in a tight loop on one thread; runs add up, so the
    baseline can be taken in slices between the measurements it is compared with."""

    def __init__(self) -> None:
        self.guest = RawGuest("counter")
        self.inc = self.guest.func(COUNTER, "increment")
        for _ in range(100):  # first calls fault in code pages
            self.guest.call(self.inc)
        self.calls = 0
        self.seconds = 0.0
        self.slice_rates: list[float] = []  # calls/s of each run(), to see how steady it was

    def run(self, seconds: float, max_calls: int = 2_000_000) -> None:
        inc, store = self.inc, self.guest.store
        n = 0
        start = time.perf_counter()
        end = start + seconds
        while n < max_calls:
            for _ in range(100):
                inc(store)
                inc.post_return(store)
            n += 100
            if time.perf_counter() >= end:
                break
        elapsed = time.perf_counter() - start
        self.seconds += elapsed
        self.calls += n
        self.slice_rates.append(n / elapsed)


def compile_to_first_result(engine: Engine, name: str = "counter") -> float:
    """Seconds from wasm bytes to the first result: compile, instantiate, call."""
    wasm = Path(guest_path(name)).read_bytes()
    start = time.perf_counter()
    guest = RawGuest(name, engine, cm.Component(engine, wasm))
    guest.call(guest.func(COUNTER, "increment"))
    return time.perf_counter() - start


def instantiate_to_first_result(engine: Engine, component: cm.Component) -> float:
    """Seconds to instantiate an already compiled component and call it once."""
    start = time.perf_counter()
    guest = RawGuest("counter", engine, component)
    guest.call(guest.func(COUNTER, "increment"))
    return time.perf_counter() - start


def deserialize_to_first_result(engine: Engine, path: Path) -> float:
    """Seconds from a serialized (cached) component on disk to the first result."""
    start = time.perf_counter()
    component = cm.Component.deserialize_file(engine, str(path))
    guest = RawGuest("counter", engine, component)
    guest.call(guest.func(COUNTER, "increment"))
    return time.perf_counter() - start
