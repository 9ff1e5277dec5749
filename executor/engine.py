"""The one wasmtime Engine, its settings, and the epoch ticker that makes interrupts work.

Every store enables epoch interruption. A single ticker thread bumps the engine epoch
every few milliseconds; each store has a deadline callback that either extends its
deadline by one tick or traps when its worker was asked to stop (interrupt, wall-time
limit). Shortening a deadline from another thread does not reach running wasm, so the
callback is the only reliable way to stop one worker while the others run on.
"""

from __future__ import annotations

import ctypes
import hashlib
import threading
from typing import Callable

from importlib.metadata import version

from wasmtime import _bindings as ffi
from wasmtime import Config, Engine, Store

from oplog import DEFAULT_THREAD_POLICY, check_thread_policy, prepare_helper_thread

TICK_SECONDS = 0.005
MAX_WASM_STACK = 1 << 20  # bytes; small enough that runaway recursion traps quickly

_DeadlineCallback = ctypes.CFUNCTYPE(
    ctypes.c_size_t,
    ctypes.POINTER(ffi.wasmtime_context_t),
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_uint64),
    ctypes.POINTER(ffi.wasmtime_update_deadline_kind_t),
)
_Finalizer = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_UPDATE_DEADLINE_CONTINUE = 0
_WASMTIME_VERSION = version("wasmtime")


def make_config() -> Config:
    config = Config()
    config.epoch_interruption = True
    config.max_wasm_stack = MAX_WASM_STACK
    return config


def engine_fingerprint() -> str:
    """Identifies the settings that a serialized (compiled) component depends on."""
    text = f"wasmtime={_WASMTIME_VERSION};" \
           f"epoch=1;stack={MAX_WASM_STACK}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class EpochTicker:
    """Bumps the engine epoch on a daemon thread so deadline callbacks run regularly."""

    def __init__(self, engine: Engine, interval: float = TICK_SECONDS, thread_policy: str = DEFAULT_THREAD_POLICY):
        self._engine = engine
        self._thread_policy = check_thread_policy(thread_policy)
        self._interval = interval
        # Ticks so far, counted after each bump: a store whose deadline was set at this
        # count still has it one tick ahead (see WorkerInstance._call).
        self.ticks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="golemite-epoch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        prepare_helper_thread(self._thread_policy)
        while not self._stop.wait(self._interval):
            self._engine.increment_epoch()
            self.ticks += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)


def install_deadline_callback(store: Store, should_stop: Callable[[], str | None]) -> object:
    """Give `store` a deadline callback; `should_stop()` returns a reason to trap, or None.

    Returns the ctypes callback object, which the caller must keep alive as long as the
    store lives (wasmtime holds only the raw function pointer).
    """

    def callback(_ctx, _data, delta, kind):
        try:
            reason = should_stop()
        except BaseException:  # never let an exception unwind through wasmtime's frames
            reason = "interrupted"
        if reason:
            return ctypes.cast(ffi.wasmtime_error_new(reason.encode()), ctypes.c_void_p).value or 0
        delta[0] = 1
        kind[0] = _UPDATE_DEADLINE_CONTINUE
        return 0

    cb = _DeadlineCallback(callback)
    fin = ctypes.cast(None, _Finalizer)
    ffi.wasmtime_store_epoch_deadline_callback(store.ptr(), cb, None, fin)
    store.set_epoch_deadline(1)
    return cb


def new_engine() -> Engine:
    return Engine(make_config())
