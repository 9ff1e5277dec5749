"""How golemite's helper threads are scheduled: out of the event loop's way.

The helper threads (the oplog writer, the guest threads, the epoch ticker) wake up
often and briefly, and nearly every time they first need the GIL, which the busiest
thread, the event loop, usually holds. Under Linux's default policy a thread that
wakes up preempts the one running on its CPU: often the event loop, which it then
waits on for the GIL straight away; two context switches for nothing, each costly in a
virtual machine. Under SCHED_BATCH a woken thread does not preempt; it runs on a free
CPU or at the next scheduling point. Same priority, no privilege needed. The gain
measured on 2 cores is small (a few percent over HTTP; benchmarks/README.md), and
`normal` is there for a machine where it is not one.
"""

from __future__ import annotations

import os

import structlog

log = structlog.get_logger(__name__)

BATCH = "batch"
NORMAL = "normal"
POLICIES = (BATCH, NORMAL)
DEFAULT = BATCH


def check_policy(policy: str) -> str:
    if policy not in POLICIES:
        raise ValueError(f"unknown thread policy {policy!r}; use one of {', '.join(POLICIES)}")
    return policy


def apply_to_this_thread(policy: str) -> None:
    """Called first thing on a helper thread: put it under `policy` where the OS has it."""
    if policy != BATCH:
        return
    batch = getattr(os, "SCHED_BATCH", None)
    if batch is None:
        return  # not Linux: the default policy it is
    try:
        os.sched_setscheduler(0, batch, os.sched_param(0))  # 0: the calling thread
    except OSError as e:  # a sandbox may refuse it; the default policy works too
        log.debug("thread policy not applied", policy=policy, error=str(e))
