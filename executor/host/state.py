"""Per-instance host state and the one durable choke point every host call goes through."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from wasmtime import WasmtimeError

from oplog import BeginRemoteWrite, EndRemoteWrite, Entry, ImportedFunctionInvoked

from ..errors import ReplayDivergence
from .cursor import ReplayCursor

_local = threading.local()


class Signal(Exception):
    """Control flow raised by a host function to stop the guest: not an error of the guest."""


class Suspend(Signal):
    def __init__(self, reason: str, wake_at_ns: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.wake_at_ns = wake_at_ns


class Jumped(Signal):
    """`set-oplog-index` recorded a Jump: rebuild the instance and continue from the target."""


class GuestExit(Signal):
    def __init__(self, code: int):
        super().__init__(f"exited with code {code}")
        self.code = code


class UnknownRemoteWrite(Exception):
    """A non-idempotent remote write began but its outcome was never recorded."""


class Interrupt(Signal):
    """The worker was asked to stop (interrupt, delete, wall-time limit)."""


@dataclass
class RetryPolicy:
    max_attempts: int = 3
    min_delay_ns: int = 100_000_000
    max_delay_ns: int = 1_000_000_000
    multiplier: int = 3

    def delay_ns(self, failed_attempts: int) -> int:
        """Delay before the next attempt after `failed_attempts` failures (1-based)."""
        return min(self.max_delay_ns, self.min_delay_ns * self.multiplier ** max(0, failed_attempts - 1))


@dataclass
class WorkerIdentity:
    template_id: str
    worker_name: str
    template_version: int
    account_id: str
    args: list[str]
    env: list[tuple[str, str]]

    @property
    def worker_key(self) -> str:
        return f"{self.template_id}/{self.worker_name}"

    def full_env(self) -> list[tuple[str, str]]:
        """The worker's own env, then the GOLEM_* variables (SPEC §4)."""
        return list(self.env) + [
            ("GOLEM_WORKER_NAME", self.worker_name),
            ("GOLEM_TEMPLATE_ID", self.template_id),
            ("GOLEM_TEMPLATE_VERSION", str(self.template_version)),
        ]


@dataclass
class HostState:
    """Everything host functions need about the worker whose guest code is running."""

    identity: WorkerIdentity
    append: Callable[[Entry], int]               # append to this worker's oplog, returns its index
    append_at: Callable[[Callable[[int], Entry]], int]  # build the entry from its own index
    commit: Callable[[], None]                   # wait until everything appended is durable
    services: Any                                # executor services (promises, self-uri, ...)
    cursor: ReplayCursor = field(default_factory=lambda: ReplayCursor([], set()))
    persistence: str = "smart"
    idempotent: bool = True
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    on_output: Callable[[str, bytes], None] | None = None
    on_log: Callable[[str, str, str], None] | None = None   # wasi:logging lines, live only
    stdout_capture: list[bytes] | None = None    # set during a stdio-convention call
    error: BaseException | None = None           # the real error behind the last host trap
    should_stop: str | None = None               # set from other threads: why to stop
    monotonic_floor: int = 0
    resources: dict[int, Any] = field(default_factory=dict)
    next_rep: int = 1
    handles: Any = None                          # HandleTable of resources handed to callers
    unrecorded: bool = False                     # ran code under persist-nothing since last reset
    call_store: Any = None                       # the StoreContext of the host call under way

    # ------------------------------------------------------------------ the choke point

    def durable(self, name: str, kind: str, live: Callable[[], Any]) -> Any:
        """Run `live` and record its response, or hand back the recorded one in replay.

        `live` must return plain msgpack data (lists, not tuples) so a replayed response
        is identical to the live one.
        """
        if self.persistence == "persist-nothing":
            return live()
        item = self.cursor.next()
        if item is not None:
            idx, entry = item
            if type(entry) is BeginRemoteWrite:
                return self._replay_remote_write(idx, name)
            if type(entry) is not ImportedFunctionInvoked or entry.function != name:
                raise divergence(idx, entry, name)
            return entry.response
        if kind == "write-remote" and not self.idempotent:
            # Not idempotent: mark the write as started, durably, so that a crash before
            # its end is seen on recovery and fails the worker instead of repeating it.
            begin = self.append(BeginRemoteWrite(timestamp=time.time_ns()))
            self.commit()
            response = live()
            self.append(ImportedFunctionInvoked(timestamp=time.time_ns(), function=name,
                                                response=response, kind=kind))
            self.append(EndRemoteWrite(timestamp=time.time_ns(), begin_index=begin))
            self.commit()
            return response
        response = live()
        self.append(ImportedFunctionInvoked(timestamp=time.time_ns(), function=name,
                                            response=response, kind=kind))
        if kind == "write-remote":
            self.commit()  # a remote side effect is never repeated: make it durable now
        return response

    def _replay_remote_write(self, begin_idx: int, name: str) -> Any:
        item = self.cursor.next()
        if item is None:
            raise UnknownRemoteWrite(
                f"the remote write {name} begun at oplog index {begin_idx} may or may not have happened "
                "(the worker stopped before its end was recorded) and idempotence is off: not repeating it")
        idx, entry = item
        if type(entry) is not ImportedFunctionInvoked or entry.function != name:
            raise divergence(idx, entry, name)
        end = self.cursor.next()
        if end is not None and type(end[1]) is not EndRemoteWrite:
            raise divergence(end[0], end[1], f"the end of remote write {name}")
        return entry.response

    def replaying_entry(self, kind: type, name: str) -> tuple[int, Entry] | None:
        """The next recorded entry, which must be of `kind`; None when live."""
        if self.persistence == "persist-nothing":
            return None
        item = self.cursor.next()
        if item is None:
            return None
        idx, entry = item
        if type(entry) is not kind:
            raise divergence(idx, entry, name)
        return item

    @property
    def replaying(self) -> bool:
        return not self.cursor.exhausted

    def new_resource(self, value: Any) -> int:
        rep = self.next_rep
        self.next_rep += 1
        self.resources[rep] = value
        return rep


def divergence(idx: int, entry: Entry, wanted: str) -> ReplayDivergence:
    what = getattr(entry, "function", None)
    recorded = type(entry).__name__ + (f" of {what}" if what else "")
    return ReplayDivergence(
        f"replay diverged at oplog index {idx}: the log records {recorded}, "
        f"but the guest now called {wanted}")


def current() -> HostState:
    return _local.state


def current_or_none() -> HostState | None:
    return getattr(_local, "state", None)


def set_current(state: HostState | None) -> None:
    _local.state = state


def register(iface, name: str, fn: Callable[..., Any]) -> None:
    """Define host function `name` on linker instance `iface`, wrapped for safety.

    `fn(state, *args)` gets the calling worker's HostState. Any exception, including
    BaseException, is kept on that worker and turned into a WasmtimeError, which
    wasmtime-py passes through without touching its process-wide exception slot.
    """

    def host_function(_store, *args):
        state = _local.state
        state.call_store = _store
        try:
            return fn(state, *args)
        except BaseException as e:  # noqa: BLE001 - every error must stay with its worker
            state.error = e
            raise WasmtimeError(f"golemite host: {type(e).__name__}: {e}") from None

    iface.add_func(name, host_function)
