"""Builds the component linkers: wasmtime's WASI with our durable interfaces shadowing it."""

from __future__ import annotations

from wasmtime import Engine
from wasmtime import component as cm

from .golem import define_golem_host
from .wasi import define_clocks, define_environment, define_logging, define_random


def needs_native_io(engine: Engine, component: cm.Component) -> bool:
    """True when the guest imports something that hands out wasmtime's own pollables.

    Our `wasi:io/poll` has its own pollable resource type; a guest that also imports
    a native `subscribe` (streams, sockets, filesystem) would not link against it.
    Such guests get wasmtime's poll and monotonic clock (not durable) instead.
    """
    for name, ext in component.type.imports(engine).items():
        if not name.startswith("wasi:") or name.startswith(("wasi:io/poll", "wasi:clocks/monotonic-clock")):
            continue
        ty = ext.ty
        if isinstance(ty, cm.ComponentInstanceType):
            if any("subscribe" in fname for fname in ty.exports(engine)):
                return True
    return False


def build_linker(engine: Engine, *, durable_io: bool = True) -> cm.Linker:
    linker = cm.Linker(engine)
    linker.add_wasip2()
    linker.allow_shadowing = True
    with linker.root() as root:
        define_clocks(root, durable_io)
        define_random(root)
        define_environment(root)
        define_logging(root)
        define_golem_host(root)
    return linker
