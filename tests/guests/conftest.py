"""Load checked-in guest components with plain wasmtime (no golemite code).

These tests prove the guests themselves work, independent of the executor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
from wasmtime import Config, Engine, Store, WasiConfig
from wasmtime import component as cm

GUESTS = Path(__file__).resolve().parents[2] / "guests"


def guest_wasm(name: str) -> Path:
    return GUESTS / name / f"{name}.wasm"


@dataclass
class LoadedGuest:
    engine: Engine
    store: Store
    instance: cm.Instance
    stdout: list[bytes]
    stderr: list[bytes]

    def func(self, name: str, interface: str | None = None) -> cm.Func:
        """Look up a world-level export, or `name` inside exported `interface`."""
        parent = None
        if interface is not None:
            parent = self.instance.get_export_index(self.store, interface)
            assert parent is not None, f"no exported interface {interface}"
        idx = self.instance.get_export_index(self.store, name, parent)
        assert idx is not None, f"no export {name} in {interface}"
        f = self.instance.get_func(self.store, idx)
        assert f is not None
        return f

    def call(self, interface: str | None, name: str, *args: Any) -> Any:
        f = self.func(name, interface)
        result = f(self.store, *args)
        f.post_return(self.store)
        return result

    def stdout_text(self) -> str:
        return b"".join(self.stdout).decode()


def load_guest(
    name: str,
    *,
    config: Config | None = None,
    link: Callable[[cm.Linker], None] | None = None,
    wasi: Callable[[WasiConfig], None] | None = None,
    setup_store: Callable[[Store], None] | None = None,
) -> LoadedGuest:
    """Instantiate guest `name` with WASI from wasmtime; `link` may add host functions.

    `setup_store` runs before instantiation, which already executes guest code:
    with epoch interruption on, a store needs its deadline set by then.
    """
    engine = Engine(config) if config is not None else Engine()
    component = cm.Component.from_file(engine, str(guest_wasm(name)))
    return instantiate(engine, component, link=link, wasi=wasi, setup_store=setup_store)


def instantiate(
    engine: Engine,
    component: cm.Component,
    *,
    link: Callable[[cm.Linker], None] | None = None,
    wasi: Callable[[WasiConfig], None] | None = None,
    setup_store: Callable[[Store], None] | None = None,
) -> LoadedGuest:
    """A fresh instance of an already compiled component, stdout/stderr captured."""
    linker = cm.Linker(engine)
    linker.add_wasip2()
    if link is not None:
        linker.allow_shadowing = True
        link(linker)
    store = Store(engine)
    out: list[bytes] = []
    err: list[bytes] = []
    cfg = WasiConfig()
    cfg.stdout_custom = lambda data: out.append(bytes(data))
    cfg.stderr_custom = lambda data: err.append(bytes(data))
    if wasi is not None:
        wasi(cfg)
    store.set_wasi(cfg)
    if setup_store is not None:
        setup_store(store)
    instance = linker.instantiate(store, component)
    return LoadedGuest(engine, store, instance, out, err)


@pytest.fixture
def guest() -> Callable[..., LoadedGuest]:
    return load_guest
