"""Helpers shared by the oplog unit tests (a uniquely named module: every test
directory has its own conftest, so `from conftest import ...` is ambiguous)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from hypothesis import strategies as st

import oplog
from oplog import Create, OplogStore


def create_entry(worker_key: str, timestamp: int = 1) -> Create:
    """The Create entry a worker's log starts with, for a `template/name` worker key."""
    template_id, _, name = worker_key.partition("/")
    return Create(
        timestamp=timestamp,
        template_id=template_id,
        template_version=0,
        worker_name=name,
        account_id="acc",
    )


@contextlib.contextmanager
def stale_recent_index(store: OplogStore) -> Iterator[None]:
    """Make readers find the recent table's index out of date, as between a commit and its update.

    Call with the writer idle (after a flush): it would put the index right.
    """
    index = store._recent
    with index._lock:
        version, index._version = index._version, -1
    try:
        yield
    finally:
        with index._lock:
            index._version = version


def new_log(store: OplogStore, worker_key: str) -> None:
    """Create a log with its Create entry and wait until it is durable."""
    b = store.batch()
    b.create_log(worker_key)
    b.append(worker_key, create_entry(worker_key))
    store.submit(b).wait(10)


# Plain msgpack data as the payload fields hold it. No tuples (msgpack gives
# lists back), no NaN (never equal to itself), ints within msgpack's 64 bits.
payloads = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
timestamps = st.integers(min_value=0, max_value=2**63 - 1)
small = st.integers(min_value=0, max_value=2**32)
maybe_text = st.none() | st.text(max_size=20)

ENTRIES = {
    "Create": st.builds(
        oplog.Create,
        timestamp=timestamps,
        template_id=st.text(),
        template_version=small,
        worker_name=st.text(),
        account_id=st.text(),
        args=st.lists(st.text(), max_size=3),
        env=st.lists(st.tuples(st.text(), st.text()), max_size=3),
    ),
    "ExportedFunctionInvoked": st.builds(
        oplog.ExportedFunctionInvoked,
        timestamp=timestamps,
        function=st.text(),
        params=payloads,
        invocation_key=maybe_text,
        calling_convention=st.sampled_from(["component", "stdio"]),
        pending_idx=st.none() | small,
    ),
    "ExportedFunctionCompleted": st.builds(
        oplog.ExportedFunctionCompleted, timestamp=timestamps, result=payloads, consumed_ns=small
    ),
    "ImportedFunctionInvoked": st.builds(
        oplog.ImportedFunctionInvoked,
        timestamp=timestamps,
        function=st.text(),
        response=payloads,
        kind=st.sampled_from(["read-local", "write-local", "read-remote", "write-remote"]),
    ),
    "CreatePromise": st.builds(oplog.CreatePromise, timestamp=timestamps),
    "CompletePromise": st.builds(oplog.CompletePromise, timestamp=timestamps, promise_idx=small, data=st.binary()),
    "Suspend": st.builds(oplog.Suspend, timestamp=timestamps, reason=st.text(), wake_at_ns=st.none() | small),
    "Interrupted": st.builds(oplog.Interrupted, timestamp=timestamps),
    "Resume": st.builds(oplog.Resume, timestamp=timestamps),
    "Exited": st.builds(oplog.Exited, timestamp=timestamps, code=st.integers(-255, 255)),
    "Error": st.builds(oplog.Error, timestamp=timestamps, details=st.text(), retriable=st.booleans()),
    "NoOp": st.builds(oplog.NoOp, timestamp=timestamps),
    "Jump": st.builds(oplog.Jump, timestamp=timestamps, start=small, end=small),
    "ChangeRetryPolicy": st.builds(
        oplog.ChangeRetryPolicy,
        timestamp=timestamps,
        max_attempts=small,
        min_delay_ns=small,
        max_delay_ns=small,
        multiplier=small,
    ),
    "BeginAtomicRegion": st.builds(oplog.BeginAtomicRegion, timestamp=timestamps),
    "EndAtomicRegion": st.builds(oplog.EndAtomicRegion, timestamp=timestamps, begin_index=small),
    "BeginRemoteWrite": st.builds(oplog.BeginRemoteWrite, timestamp=timestamps),
    "EndRemoteWrite": st.builds(oplog.EndRemoteWrite, timestamp=timestamps, begin_index=small),
    "PendingWorkerInvocation": st.builds(
        oplog.PendingWorkerInvocation,
        timestamp=timestamps,
        function=st.text(),
        params=payloads,
        invocation_key=maybe_text,
        calling_convention=st.sampled_from(["component", "stdio"]),
    ),
    "InvocationRejected": st.builds(
        oplog.InvocationRejected, timestamp=timestamps, pending_idx=small, reason=st.text(),
    ),
    "ChangePersistenceLevel": st.builds(
        oplog.ChangePersistenceLevel,
        timestamp=timestamps,
        level=st.sampled_from(["persist-nothing", "persist-remote-side-effects", "smart"]),
    ),
}

any_entry = st.one_of(*ENTRIES.values())
