"""Builds the component linkers: wasmtime's WASI with our durable interfaces shadowing it."""

from __future__ import annotations

from wasmtime import Engine
from wasmtime import component as cm

from .golem import GOLEM_HOST, define_golem_host
from .wasi import LOGGING, define_clocks, define_environment, define_logging, define_random


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


# The interfaces the linkers provide: wasmtime's WASI 0.2 (`add_wasip2`, wasmtime 50)
# with golemite's durable versions shadowing part of it, and golemite's own. A name
# maps to the versions it links with: "0.2" is any 0.2.x release (wasmtime's semver
# matching; a pre-release does not link), None an unversioned name.
_WASI_0_2 = (
    "wasi:cli/environment", "wasi:cli/exit", "wasi:cli/stdin", "wasi:cli/stdout", "wasi:cli/stderr",
    "wasi:cli/terminal-input", "wasi:cli/terminal-output", "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout", "wasi:cli/terminal-stderr",
    "wasi:clocks/monotonic-clock", "wasi:clocks/wall-clock",
    "wasi:filesystem/types", "wasi:filesystem/preopens",
    "wasi:io/error", "wasi:io/poll", "wasi:io/streams",
    "wasi:random/random", "wasi:random/insecure", "wasi:random/insecure-seed",
    "wasi:sockets/network", "wasi:sockets/instance-network", "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket", "wasi:sockets/tcp", "wasi:sockets/tcp-create-socket",
    "wasi:sockets/ip-name-lookup",
)
PROVIDED: dict[str, str | None] = {
    **{name: "0.2" for name in _WASI_0_2},
    GOLEM_HOST.split("@")[0]: "0.2",
    LOGGING: None,
}


def missing_imports(engine: Engine, component: cm.Component) -> list[str]:
    """The imports of `component` that no golemite linker provides, sorted.

    Checked at upload, so that a component importing an interface golemite does not
    implement (wasi:http, golem:rpc, ...) is refused with its name, instead of being
    stored and failing every worker at the first invocation. Names and versions only:
    an interface that lacks a function the guest wants still fails at instantiation,
    with wasmtime's message.
    """
    missing = []
    for name, ext in component.type.imports(engine).items():
        ty = ext.ty
        if isinstance(ty, cm.ComponentInstanceType):
            if not _needs_definition(engine, ty):
                continue  # only value types (a WIT `use` of records): nothing to link
            base, _, version = name.partition("@")
            if base in PROVIDED and _links(version or None, PROVIDED[base]):
                continue
        missing.append(name)  # unknown, or not an instance (a bare function import)
    return sorted(missing)


def _needs_definition(engine: Engine, ty: cm.ComponentInstanceType) -> bool:
    """Functions and resources must come from the linker; value types link without one."""
    return any(not isinstance(item.ty, cm.ValType) for item in ty.exports(engine).values())


def _links(version: str | None, provided: str | None) -> bool:
    if provided is None or version is None:
        return version == provided
    parts = version.split(".")
    return len(parts) == 3 and f"{parts[0]}.{parts[1]}" == provided and parts[2].isdigit()
