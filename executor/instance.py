"""A worker's live wasmtime instance: one Store, synchronous, driven from a guest thread.

`replay()` rebuilds the guest's state from the recorded log; `invoke()` runs one
invocation (new, or the one that was in flight when the previous instance went away)
and returns an outcome instead of raising. After any trap the instance is unusable and
the worker throws it away.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import weakref
from dataclasses import dataclass
from typing import Any

import msgspec
from wasmtime import Store, WasiConfig, WasmtimeError

from oplog import (
    Entry, Error, ExportedFunctionCompleted, ExportedFunctionInvoked, Exited, InvocationRejected, Jump,
    PendingWorkerInvocation, recordable,
)

from .codec import ValueMismatch, lower_params
from .engine import TICK_SECONDS, install_deadline_callback
from .fastcall import FastFunc, set_epoch_deadline
from .guest_pool import flush_current_burst
from .errors import ReplayDivergence
from .host import HostState, Interrupt, Signal
from .host.cursor import ReplayCursor
from .host.handles import HandleTable
from .host.state import RetryPolicy, UnknownRemoteWrite, WorkerIdentity, divergence, set_current
from .templates import FunctionInfo, LoadedTemplate
from .worker_log import WorkerLog


# A call running this long lets its thread hand on what finished before it.
LONG_CALL_SECONDS = TICK_SECONDS / 2

# Invocation and Completed are made once per call: plain classes with their own __init__,
# which mypyc compiles, where a dataclass's generated __init__ would run interpreted.

class Invocation:
    """One call of an export, queued or running."""

    __slots__ = ("function", "params", "key", "convention", "pending_idx", "start_idx", "future", "lowered")

    def __init__(self, function: str, params: Any, key: str | None = None, convention: str = "component",
                 pending_idx: int | None = None, start_idx: int | None = None, future: Any = None,
                 lowered: list[Any] | None = None) -> None:
        self.function = function
        self.params = params
        self.key = key
        self.convention = convention
        self.pending_idx = pending_idx   # index of its PendingWorkerInvocation, if queued durably
        self.start_idx = start_idx       # index of its ExportedFunctionInvoked once started
        self.future = future             # asyncio.Future of the caller, if one waits
        self.lowered = lowered           # params already converted while validating (first attempt only)

    def __repr__(self) -> str:
        return (f"Invocation({self.function!r}, key={self.key!r}, pending_idx={self.pending_idx}, "
                f"start_idx={self.start_idx})")


# ------------------------------------------------------------------ outcomes

class Completed:
    __slots__ = ("result", "index")

    def __init__(self, result: Any, index: int) -> None:
        self.result = result
        self.index = index

    def __repr__(self) -> str:
        return f"Completed({self.result!r}, {self.index})"


@dataclass
class Trapped:
    message: str
    retriable: bool = True


@dataclass
class Rejected:
    """The call was refused before anything was recorded (e.g. an unknown resource handle)."""

    message: str


@dataclass
class Stopped:
    """The guest was stopped by a host signal (suspend, interrupt, jump, exit)."""

    signal: Signal


@dataclass
class ReplayResult:
    inflight: tuple[int, ExportedFunctionInvoked] | None
    pending: list[tuple[int, PendingWorkerInvocation]]
    exited: bool = False
    retry_policy: RetryPolicy | None = None
    errors_since_start: int = 0
    # When the in-flight invocation's last attempt trapped (its Error entry), if it did.
    last_error_ns: int | None = None


STACK_OVERFLOW_MARKERS = ("call stack exhausted", "stack overflow")


def _trap_message(e: WasmtimeError) -> str:
    text = str(e).strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    # wasmtime puts a wasm backtrace after the message; the first line says what happened.
    head = lines[0] if lines else "trap"
    for ln in lines:
        if "wasm trap:" in ln or "call stack exhausted" in ln:
            return ln.strip()
    return head


class WorkerInstance:
    def __init__(self, runtime, template: LoadedTemplate, identity: WorkerIdentity,
                 wlog: WorkerLog, services, *, on_output=None, on_log=None):
        self.template = template
        self.wlog = wlog
        self.runtime = runtime
        self.state = HostState(identity=identity, append=wlog.append, append_at=wlog.append_at,
                               commit=wlog.wait, services=services, on_output=on_output, on_log=on_log,
                               handles=HandleTable(identity.template_id, identity.worker_name))
        self.store = Store(runtime.engine)
        if runtime.max_memory_bytes:
            self.store.set_limits(memory_size=runtime.max_memory_bytes)
        self._deadline_cb = install_deadline_callback(self.store, self._should_stop)
        self._ticker = runtime.ticker
        self._deadline_ticks = -1  # the ticker's count when the deadline was last set
        self._call_deadline: float | None = None
        self._call_started = 0.0
        self._ctx = self.store._context()
        self._configure_wasi(None)
        linker = runtime.linker_for(template)
        set_current(self.state)
        try:
            self.instance = linker.instantiate(self.store, template.component)
        finally:
            set_current(None)
        self._funcs: dict[str, Any] = {}

    # ---------------------------------------------------------------- plumbing

    def detach(self) -> None:
        """The worker lets this instance go: stop telling it of output. The instance may live
        on for a while in reference cycles (wasmtime's callbacks) until Python's collector
        frees it, and must not keep its worker alive meanwhile (see executor.forgetting)."""
        self.state.on_output = None
        self.state.on_log = None

    def _should_stop(self) -> str | None:
        # Called about once an epoch tick while a guest runs (see _call).
        now = time.monotonic()
        if now - self._call_started >= LONG_CALL_SECONDS:
            # A long call: what its thread finished before it must not wait for it.
            flush_current_burst()
        if self.state.should_stop:
            return self.state.should_stop
        if self._call_deadline is not None and now > self._call_deadline:
            self.state.should_stop = "timeout: the invocation ran longer than its wall-time limit"
            return self.state.should_stop
        return None

    def _configure_wasi(self, stdin: bytes | None) -> None:
        cfg = WasiConfig()
        # wasmtime-py keeps these callbacks in a process-wide table until the store is
        # freed: a strong reference to this instance there would keep both alive forever.
        # They refer to its host state, all they use, which (unlike a compiled class's
        # instance) can be weakly referenced.
        state_ref = weakref.ref(self.state)

        def output(stream: str):
            def write(data) -> None:
                state = state_ref()
                if state is not None:
                    _record_output(state, stream, bytes(data))
            return write
        cfg.stdout_custom = output("stdout")
        cfg.stderr_custom = output("stderr")
        if stdin is not None:
            fd, path = tempfile.mkstemp(prefix="golemite-stdin-")
            with os.fdopen(fd, "wb") as f:
                f.write(stdin)
            cfg.stdin_file = path
            self.store.set_wasi(cfg)
            os.unlink(path)  # wasmtime opened it already
        else:
            self.store.set_wasi(cfg)

    def _func(self, info: FunctionInfo):
        f = self._funcs.get(info.name)
        if f is None and info.drops is not None:
            f = self._funcs[info.name] = _RESOURCE_DROP
        if f is None:
            parent = None
            if info.interface is not None:
                parent = self.instance.get_export_index(self.store, info.interface)
            idx = self.instance.get_export_index(self.store, info.export_name, parent)
            f = self.instance.get_func(self.store, idx) if idx is not None else None
            if f is None:
                raise ValueError(f"export {info.name} not found in the instance")
            f = self._funcs[info.name] = FastFunc(f, self.store)
        return f

    def _call(self, function: str, params: Any, convention: str, lowered: list[Any] | None = None,
              info: FunctionInfo | None = None, time_limited: bool = True) -> tuple[str, Any]:
        """Call an export. Returns ("ok", json_result) or ("trap", Trapped|Stopped).

        `time_limited`: whether --max-invocation-seconds applies; not to the replay of a
        call that finished (it was within its limit, or under another one, when it ran)."""
        if info is None:
            info = self.template.resolve(function)
        state = self.state
        state.error = None
        if convention == "stdio":
            self._configure_wasi(json.dumps(params).encode() if params is not None else b"")
            state.stdout_capture = []
            args: list[Any] = []
        elif lowered is not None:
            args = lowered
        else:
            try:
                args = lower_params(info.params, params, info.lowerers)
            except ValueMismatch as misfit:
                return "trap", Trapped(f"recorded parameters no longer fit: {misfit}", retriable=False)
        func = self._func(info)
        limit = self.runtime.max_invocation_seconds
        self._call_started = time.monotonic()
        self._call_deadline = self._call_started + limit if limit and time_limited else None
        # The deadline callback runs one tick after the last check. Set afresh for each
        # call, it does not fire as an idle worker's call starts (most calls of many
        # workers taking turns), only once a call has run for a tick. Unless no tick came
        # since it was last set: then it is one tick ahead already (a ctypes call less;
        # should a tick slip in between, the callback fires once early and re-arms).
        ticks = self._ticker.ticks
        if ticks != self._deadline_ticks:
            set_epoch_deadline(self._ctx, 1)
            self._deadline_ticks = ticks
        set_current(state)
        try:
            if info.has_handles and lowered is None and convention == "component":
                args = lower_params(info.params, params, info.lowerers)  # now against the handle table
            raw = func(self.store, *args)
            func.post_return(self.store)  # lets the guest free what it lent us for the result
            # SPEC §6: one entry per result, so a function without results answers [].
            result = [] if info.lift is None or convention == "stdio" else [info.lift(raw)]
        # One name per exception type: compiled, a name keeps the type of its first binding.
        except ValueMismatch as mismatch:
            return "trap", Trapped(f"invalid resource handle: {mismatch}", retriable=False)
        except WasmtimeError as trap:
            return "trap", self._classify(trap)
        finally:
            set_current(None)
            self._call_deadline = None
            if convention == "stdio":
                self._configure_wasi(None)
        if state.error is not None:  # e.g. a divergence noticed inside an output callback
            return "trap", self._classify(None)
        if convention == "stdio":
            out = b"".join(state.stdout_capture or [])
            state.stdout_capture = None
            return "ok", _parse_stdio(out)
        return "ok", result

    def _classify(self, e: WasmtimeError | None):
        err = self.state.error
        self.state.error = None
        if isinstance(err, Signal):
            return Stopped(err)
        if isinstance(err, (ReplayDivergence, UnknownRemoteWrite)):
            return Trapped(str(err), retriable=False)
        if err is not None:
            return Trapped(f"host error: {type(err).__name__}: {err}")
        msg = _trap_message(e) if e is not None else "trap"
        if self.state.should_stop:
            reason = self.state.should_stop
            if reason.startswith("timeout"):
                return Trapped(reason, retriable=False)
            return Stopped(Interrupt(reason))
        retriable = not any(m in msg for m in STACK_OVERFLOW_MARKERS)
        return Trapped(msg, retriable=retriable)

    # ---------------------------------------------------------------- replay

    def replay(self, entries: list[tuple[int, Entry]]) -> ReplayResult:
        """Re-run every completed invocation; stop at the one still in flight, if any."""
        cursor = ReplayCursor(entries)
        self.state.cursor = cursor
        skip = cursor.skip
        for begin, end in cursor.abandoned:
            # The abandoned region runs again from its start; say so in the log, or the
            # next replay would take its first Begin for a region that never ended.
            self.state.append(Jump(timestamp=time.time_ns(), start=begin, end=end))
        completed: set[int] = set()
        started_pending: set[int] = set()
        pending: list[tuple[int, PendingWorkerInvocation]] = []
        current = None
        errors = 0
        last_error_ns: int | None = None
        for idx, e in entries:
            # Exact types, not isinstance: see BOOKKEEPING in host/cursor.py.
            if type(e) is PendingWorkerInvocation:
                # Queued from outside and acknowledged: a jump or an abandoned region in the
                # guest's run does not undo it.
                pending.append((idx, e))
                continue
            if type(e) is InvocationRejected:
                started_pending.add(e.pending_idx)  # its turn came and went
                continue
            if idx in skip:
                continue
            if type(e) is ExportedFunctionInvoked:
                current = idx
                errors = 0
                last_error_ns = None
                if e.pending_idx is not None:
                    started_pending.add(e.pending_idx)
            elif type(e) is ExportedFunctionCompleted and current is not None:
                completed.add(current)
                current = None
            elif type(e) is Error and current is not None:
                errors += 1
                last_error_ns = e.timestamp
            elif type(e) is Exited:
                return ReplayResult(None, [], exited=True)
        pending = [(i, p) for i, p in pending if i not in started_pending]
        result = ReplayResult(None, pending, errors_since_start=errors, last_error_ns=last_error_ns)
        while True:
            item = cursor.next()
            if item is None:
                break
            idx, e = item
            if type(e) is not ExportedFunctionInvoked:
                raise divergence(idx, e, "the next exported function")
            if idx not in completed:
                result.inflight = (idx, e)
                break
            self.state.unrecorded = self.state.persistence == "persist-nothing"
            status, value = self._call(e.function, e.params, e.calling_convention, time_limited=False)
            if status != "ok":
                what = value.message if isinstance(value, Trapped) else str(value.signal)
                raise ReplayDivergence(f"replay of the invocation at oplog index {idx} "
                                       f"({e.function}) failed: {what}")
            done = cursor.next()
            if done is None or type(done[1]) is not ExportedFunctionCompleted:
                raise divergence(done[0], done[1], "the end of " + e.function) if done else \
                    ReplayDivergence(f"replay of {e.function} at oplog index {idx} went past the log")
            if not self.state.unrecorded and _normal(done[1].result) != _normal(value):
                raise ReplayDivergence(
                    f"replay diverged at oplog index {done[0]}: {e.function} returned {value!r} on replay, "
                    f"but the log records {done[1].result!r}")
        result.retry_policy = self.state.retry_policy
        return result

    # ---------------------------------------------------------------- invoke

    def invoke(self, inv: Invocation, start_puts=(), complete_puts=lambda idx: ()):
        """Run one invocation to an outcome. New invocations are recorded first."""
        info = self.template.resolve(inv.function)
        if inv.start_idx is None and inv.convention == "component":
            if info.has_handles:
                # Resolve handles against this worker's table before recording anything, so
                # an unknown handle is the caller's mistake (400), not the worker's failure.
                set_current(self.state)
                try:
                    inv.lowered = lower_params(info.params, inv.params, info.lowerers)
                except ValueMismatch as e:
                    return Rejected(f"invalid params for {info.name}: {e}")
                finally:
                    set_current(None)
        if inv.start_idx is None:
            inv.start_idx = self.wlog.append(
                ExportedFunctionInvoked(timestamp=time.time_ns(), function=inv.function, params=inv.params,
                                        invocation_key=inv.key, calling_convention=inv.convention,
                                        pending_idx=inv.pending_idx),
                start_puts)
            self.state.cursor.live()
        started = time.monotonic_ns()
        lowered, inv.lowered = inv.lowered, None
        status, value = self._call(inv.function, inv.params, inv.convention, lowered, info)
        if status == "ok":
            self.state.cursor.live()
            entry = ExportedFunctionCompleted(timestamp=time.time_ns(), result=value,
                                              consumed_ns=time.monotonic_ns() - started)
            idx, _ = self.wlog.append_then_put(entry, complete_puts)  # held: committed on release
            return Completed(value, idx)
        return value


class _ResourceDrop:
    """`…/res/drop` is not an export: called like one, it runs the guest's destructor.

    Its one parameter is an owned handle, so lowering it took the resource out of the
    worker's handle table.
    """

    def __call__(self, store, resource) -> None:
        resource.drop(store)

    def post_return(self, store) -> None:
        pass


_RESOURCE_DROP = _ResourceDrop()


def _record_output(state: HostState, stream: str, data: bytes) -> None:
    """Guest wrote to stdout/stderr: recorded, so replay never writes it twice."""
    try:
        # Captured in replay too: a replayed stdio call must produce the same result.
        if state.stdout_capture is not None and stream == "stdout":
            state.stdout_capture.append(data)
        on_output = state.on_output
        state.durable(f"wasi:cli/{stream}/write", "write-local",
                      lambda: on_output(stream, data) if on_output is not None else None)
    except BaseException as e:  # noqa: BLE001 - cannot raise through wasmtime's callback
        state.error = state.error or e


def _normal(v: Any) -> Any:
    """Compare results as they round-trip through the log (msgpack turns tuples into lists)."""
    if isinstance(v, (list, tuple)):
        return [_normal(x) for x in v]
    if isinstance(v, dict):
        return {k: _normal(x) for k, x in v.items()}
    return v


def _parse_stdio(out: bytes) -> Any:
    """stdout as the result: JSON if it is JSON (strictly: `NaN` is text), else the text.

    JSON the oplog cannot record (an integer past 64 bits) is kept as its text too: the
    result is recorded before it is answered, and failing there failed the worker."""
    text = out.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text
    return value if recordable(value) else text
