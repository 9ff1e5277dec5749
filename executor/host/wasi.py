"""Durable WASI: clocks, random, environment, exit, and the poll/sleep machinery.

Guests import WASI 0.2.x; wasmtime registers its own implementation as @0.2.12, and we
shadow the non-deterministic interfaces under that name. The monotonic clock counts wall
time in nanoseconds (never going backwards per worker) so that a deadline recorded
before a restart still means the same moment after it.
"""

from __future__ import annotations

import os
import time

from wasmtime import component as cm

from ..guest_pool import flush_current_burst
from .state import HostState, Interrupt, Suspend, register

WASI = "@0.2.12"
LOGGING = "wasi:logging/logging"
POLLABLE_TYPE = 0x901AB1E  # our host resource type id for wasi:io/poll pollables

# Sleeps up to this long run in place; longer ones suspend the worker and a durable
# timer wakes it (configurable through the executor).
SHORT_SLEEP_NS = 1_000_000_000
_SLICE = 0.01


def _datetime(seconds: int, nanos: int) -> cm.Record:
    r = cm.Record()
    setattr(r, "seconds", seconds)
    setattr(r, "nanoseconds", nanos)
    return r


def monotonic_now(state: HostState) -> int:
    now = max(time.time_ns(), state.monotonic_floor)
    state.monotonic_floor = now
    return now


def wait_until(state: HostState, deadline_ns: int) -> None:
    """Sleep until `deadline_ns` (monotonic), or suspend the worker if it is far off."""
    remaining = deadline_ns - monotonic_now(state)
    if remaining <= 0:
        return
    # A short sleep holds its guest thread; when threads run short, even a short one
    # suspends instead, so many sleepers cannot starve the other workers.
    if remaining > state.services.short_sleep_ns or state.services.threads_scarce():
        wake_at = time.time_ns() + remaining
        raise Suspend("sleep", wake_at_ns=wake_at)
    end = time.monotonic() + remaining / 1e9
    flush_current_burst()  # what this thread finished before must not wait for the sleep
    while True:
        if state.should_stop:
            raise Interrupt(state.should_stop)
        left = end - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(left, _SLICE))
    monotonic_now(state)


def define_clocks(root, durable_io: bool) -> None:
    with root.add_instance(f"wasi:clocks/wall-clock{WASI}") as wall:
        def wall_now(state: HostState):
            s, ns = state.durable("wasi:clocks/wall-clock/now", "read-local",
                                  lambda: list(divmod(time.time_ns(), 1_000_000_000)))
            return _datetime(s, ns)
        register(wall, "now", wall_now)
        register(wall, "resolution", lambda state: _datetime(0, 1))
    if not durable_io:
        return
    with root.add_instance(f"wasi:clocks/monotonic-clock{WASI}") as mono:
        def mono_now(state: HostState) -> int:
            return state.durable("wasi:clocks/monotonic-clock/now", "read-local",
                                 lambda: monotonic_now(state))

        def subscribe_instant(state: HostState, when: int):
            return _pollable(state, when)

        def subscribe_duration(state: HostState, duration: int):
            deadline = state.durable("wasi:clocks/monotonic-clock/subscribe-duration", "read-local",
                                     lambda: monotonic_now(state) + duration)
            return _pollable(state, deadline)
        register(mono, "now", mono_now)
        register(mono, "resolution", lambda state: 1)
        register(mono, "subscribe-instant", subscribe_instant)
        register(mono, "subscribe-duration", subscribe_duration)
    with root.add_instance(f"wasi:io/poll{WASI}") as poll:
        def drop(_store, rep):
            from .state import current
            current().resources.pop(rep, None)
        poll.add_resource("pollable", cm.ResourceType.host(POLLABLE_TYPE), drop)

        def ready(state: HostState, p) -> bool:
            deadline = _deadline_of(state, p)
            return state.durable("wasi:io/poll/ready", "read-local",
                                 lambda: monotonic_now(state) >= deadline)

        def block(state: HostState, p) -> None:
            deadline = _deadline_of(state, p)
            state.durable("wasi:io/poll/block", "read-local", lambda: wait_until(state, deadline))

        def poll_list(state: HostState, ps) -> list[int]:
            deadlines = [_deadline_of(state, p) for p in ps]

            def live():
                wait_until(state, min(deadlines))
                now = monotonic_now(state)
                return [i for i, d in enumerate(deadlines) if d <= now]
            return state.durable("wasi:io/poll/poll", "read-local", live)
        register(poll, "[method]pollable.ready", ready)
        register(poll, "[method]pollable.block", block)
        register(poll, "poll", poll_list)


def _pollable(state: HostState, deadline: int) -> cm.ResourceHost:
    rep = state.new_resource(deadline)
    return cm.ResourceHost.own(rep, POLLABLE_TYPE)


def _deadline_of(state: HostState, p) -> int:
    rep = p.rep if isinstance(p, cm.ResourceHost) else p.to_host(state.call_store).rep
    return state.resources[rep]


def _random_u64() -> int:
    return int.from_bytes(os.urandom(8), "little")


def define_random(root) -> None:
    with root.add_instance(f"wasi:random/random{WASI}") as rnd:
        register(rnd, "get-random-bytes", lambda state, n: state.durable(
            "wasi:random/random/get-random-bytes", "read-local", lambda: os.urandom(n)))
        register(rnd, "get-random-u64", lambda state: state.durable(
            "wasi:random/random/get-random-u64", "read-local", _random_u64))
    with root.add_instance(f"wasi:random/insecure{WASI}") as ins:
        register(ins, "get-insecure-random-bytes", lambda state, n: state.durable(
            "wasi:random/insecure/get-insecure-random-bytes", "read-local", lambda: os.urandom(n)))
        register(ins, "get-insecure-random-u64", lambda state: state.durable(
            "wasi:random/insecure/get-insecure-random-u64", "read-local", _random_u64))
    with root.add_instance(f"wasi:random/insecure-seed{WASI}") as seed:
        register(seed, "insecure-seed", lambda state: tuple(state.durable(
            "wasi:random/insecure-seed/insecure-seed", "read-local", lambda: [_random_u64(), _random_u64()])))


def define_environment(root) -> None:
    # Args and env are part of the worker's Create entry, so they need no recording.
    with root.add_instance(f"wasi:cli/environment{WASI}") as env:
        register(env, "get-environment", lambda state: [tuple(kv) for kv in state.identity.full_env()])
        register(env, "get-arguments", lambda state: list(state.identity.args))
        register(env, "initial-cwd", lambda state: None)
    with root.add_instance(f"wasi:cli/exit{WASI}") as ex:
        from .state import GuestExit

        def exit_(state: HostState, status) -> None:
            # `result` with no payloads: wasmtime-py hands us a Variant tagged ok/err.
            tag = getattr(status, "tag", "ok" if status is None else "err")
            raise GuestExit(0 if tag == "ok" else 1)
        def exit_with_code(state: HostState, code: int) -> None:
            raise GuestExit(code)
        register(ex, "exit", exit_)
        register(ex, "exit-with-code", exit_with_code)


def define_logging(root) -> None:
    """`wasi:logging/logging`: structured log lines, streamed as /connect "log" events.

    Recorded like any write, so a replayed log call is not sent to listeners again.
    """
    with root.add_instance(LOGGING) as logging_iface:
        def log(state: HostState, level, context: str, message: str) -> None:
            name = level if isinstance(level, str) else getattr(level, "tag", str(level))

            def live():
                if state.on_log is not None:
                    state.on_log(name, context, message)
            state.durable("wasi:logging/logging/log", "write-local", live)
        register(logging_iface, "log", log)
