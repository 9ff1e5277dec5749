"""Deriving index rows from a worker's log (used by OplogStore.rebuild_indexes).

The log is the truth; "workers", "keys" and "promises" rows are caches of it:

- workers: the static fields (template, version, account, args, env,
  created_at) come from the log's Create entry; cached status fields
  (status, pending_count, retry_count, last_error) of an existing row are kept.
- keys: an invocation key seen on an ExportedFunctionInvoked or a
  PendingWorkerInvocation is "pending"; it is "complete", with completed_idx
  the index of the ExportedFunctionCompleted that ends its invocation (the
  first one after its ExportedFunctionInvoked, before the next invocation).
- promises: each CreatePromise at index i is the promise i, "pending" until a
  CompletePromise with promise_idx i completes it with its data.

Jump regions are not taken into account.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from .entries import (
    CompletePromise,
    Create,
    CreatePromise,
    Entry,
    ExportedFunctionCompleted,
    ExportedFunctionInvoked,
    PendingWorkerInvocation,
)
from .records import InvocationKeyRecord, PromiseRecord, WorkerRecord
from .tables import promise_key


@dataclass
class DerivedIndexes:
    """The rows one log implies."""

    worker: WorkerRecord | None = None
    keys: dict[str, InvocationKeyRecord] = field(default_factory=dict)
    promises: dict[str, PromiseRecord] = field(default_factory=dict)


def derive_indexes(
    worker_key: str,
    entries: list[tuple[int, Entry]],
    existing: WorkerRecord | None = None,
) -> DerivedIndexes:
    """Rows implied by one log's `(index, entry)` pairs; `existing` is its current workers row."""
    out = DerivedIndexes()
    template_id, _, worker_name = worker_key.partition("/")
    running_key: str | None = None
    in_invocation = False
    for index, entry in entries:
        if type(entry) is Create:
            if out.worker is not None:
                continue
            template_id, worker_name = entry.template_id, entry.worker_name
            static = {
                "template_id": entry.template_id,
                "worker_name": entry.worker_name,
                "template_version": entry.template_version,
                "account_id": entry.account_id,
                "args": list(entry.args),
                "env": list(entry.env),
                "created_at": entry.timestamp,
            }
            out.worker = (
                msgspec.structs.replace(existing, **static)
                if existing is not None
                else WorkerRecord(**static)
            )
        elif type(entry) is PendingWorkerInvocation:
            if entry.invocation_key is not None and entry.invocation_key not in out.keys:
                out.keys[entry.invocation_key] = InvocationKeyRecord(
                    template_id=template_id, worker_name=worker_name, state="pending"
                )
        elif type(entry) is ExportedFunctionInvoked:
            running_key = entry.invocation_key
            in_invocation = True
            if running_key is not None:
                out.keys[running_key] = InvocationKeyRecord(
                    template_id=template_id, worker_name=worker_name, state="pending"
                )
        elif type(entry) is ExportedFunctionCompleted:
            if in_invocation and running_key is not None:
                out.keys[running_key] = InvocationKeyRecord(
                    template_id=template_id,
                    worker_name=worker_name,
                    state="complete",
                    completed_idx=index,
                )
            running_key = None
            in_invocation = False
        elif type(entry) is CreatePromise:
            out.promises[promise_key(template_id, worker_name, index)] = PromiseRecord(
                template_id=template_id, worker_name=worker_name, oplog_idx=index, state="pending"
            )
        elif type(entry) is CompletePromise:
            key = promise_key(template_id, worker_name, entry.promise_idx)
            if key in out.promises:
                out.promises[key] = msgspec.structs.replace(
                    out.promises[key], state="complete", data=entry.data
                )
    return out
