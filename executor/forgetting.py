"""Forgetting worker objects nobody uses, so the executor's memory follows live work, not history.

Every worker used since the start has an object in `Executor.workers` (its queue, status,
log handle, ...), a few KB each; `--max-live-workers` bounds only the instances. A daemon
that touches millions of workers would keep millions of objects. So the executor sweeps
them now and then, and drops an object when forgetting it cannot be told from a restart
of that one worker: it is at rest (`Worker.at_rest`: no instance, no queued or running
call, nothing unconfirmed, its row as durable as the object) and nothing else refers to
it. A later request makes a new object from the stored row, as the first request after a
restart does.

"Nothing else refers to it" is what makes this safe: a coroutine awaiting on the
worker's behalf, a callback in the guest pool or the loop inbox, a timer, a /connect
stream all hold references, and a second object for the same log beside such a holder
would run invocations twice. Compiled classes cannot be weakly referenced, so the check
is CPython's exact reference count, taken in this module (not compiled, so that no
temporaries of generated code count) against a baseline measured the same way at import.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from typing import Any


def _pop_if_only_here(table: dict, key: Any, baseline: int) -> bool:
    """Remove `table[key]` if the table held the only reference to it; True if removed."""
    value = table.pop(key)
    # References now: `value`, and getrefcount's own argument; anything more is a holder.
    if sys.getrefcount(value) <= baseline:
        return True
    table[key] = value
    return False


def _measure_baseline() -> int:
    table = {"k": object()}
    value = table.pop("k")
    count = sys.getrefcount(value)
    del value
    return count


BASELINE = _measure_baseline()


def sweep(workers: dict, limit: int, forget_log: Callable[[str], object]) -> int:
    """Look at up to `limit` worker objects, oldest first; forget those at rest and unheld.

    `forget_log(key)` is called for each forgotten one, so that the oplog store drops its
    memory of that log too (the store checks for itself that the log is settled). The
    ones kept go to the end of the dict, so that successive sweeps go round them all.
    Returns how many were forgotten.
    """
    forgotten = 0
    for key in list(itertools.islice(workers, limit)):
        worker = workers.get(key)
        at_rest = worker is not None and worker.at_rest()
        worker = None  # our own reference must not count as a holder
        if at_rest:
            # Kept or not, it leaves the front: a kept one goes back at the end.
            if _pop_if_only_here(workers, key, BASELINE):
                forgotten += 1
                forget_log(key)
        elif key in workers:
            workers[key] = workers.pop(key)
    return forgotten
