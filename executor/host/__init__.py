"""The durable host: every non-deterministic import a guest can call, recorded and replayed.

Each host function is registered through `state.register`, which wraps it so that it
finds the calling worker's `HostState` (a thread-local set while guest code runs), keeps
any Python error on that worker rather than in wasmtime-py's process-wide slot, and
raises only `WasmtimeError` into wasm.
"""

from oplog.native import package_path

# Compiled hot modules, when built and fresh, load ahead of their source (oplog/native.py).
__path__ = package_path(__name__, __path__)

from .linker import build_linker, needs_native_io
from .state import HostState, Signal, Suspend, Jumped, GuestExit, Interrupt

__all__ = ["build_linker", "needs_native_io", "HostState", "Signal", "Suspend", "Jumped",
           "GuestExit", "Interrupt"]
