"""How golemite's helper threads are set up: named for the OS, and scheduled out of the
event loop's way.

The helper threads (the oplog writer, the guest threads, the epoch ticker) wake up
often and briefly, and nearly every time they first need the GIL, which the busiest
thread, the event loop, usually holds. Under Linux's default policy a thread that
wakes up preempts the one running on its CPU: often the event loop, which it then
waits on for the GIL straight away; two context switches for nothing, each costly in a
virtual machine. Under SCHED_BATCH a woken thread does not preempt; it runs on a free
CPU or at the next scheduling point. Same priority, no privilege needed. The gain
measured on 2 cores is small (a few percent over HTTP; benchmarks/README.md), and
`normal` is there for a machine where it is not one.

Each helper thread also gives the OS its name (Python 3.11 keeps thread names to
itself), so that `top -H`, `ps -L` and profilers tell the oplog writer, the guest
threads and the epoch ticker apart from the event loop.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

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


def prepare_helper_thread(policy: str) -> None:
    """Called first thing on a helper thread: give the OS its name, and put it under
    `policy` where the OS has it."""
    name_this_thread(threading.current_thread().name)
    apply_to_this_thread(policy)


# Linux keeps 15 bytes of a thread's name: a longer name drops this prefix first
# ("golemite-guest-12" becomes "guest-12"), so the part that tells threads apart stays.
_OS_NAME_BYTES = 15
_DROPPED_PREFIX = "golemite-"
_PR_SET_NAME = 15
# prctl among the process's own symbols (find_library would run ldconfig in a subprocess).
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def os_thread_name(name: str) -> bytes:
    """The name the OS is given for a thread called `name`."""
    if len(name.encode()) > _OS_NAME_BYTES and name.startswith(_DROPPED_PREFIX):
        name = name[len(_DROPPED_PREFIX):]
    return name.encode()[:_OS_NAME_BYTES]


def name_this_thread(name: str) -> None:
    """Name the calling thread for the OS (Linux only; elsewhere nothing happens)."""
    if _libc is None:
        return
    if _libc.prctl(_PR_SET_NAME, ctypes.c_char_p(os_thread_name(name)), 0, 0, 0) != 0:
        log.debug("thread name not set", name=name, errno=ctypes.get_errno())


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
