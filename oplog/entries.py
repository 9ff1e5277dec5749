"""Oplog entry kinds: one msgspec tagged union (SPEC §7).

Each kind is a frozen Struct whose tag is its class name. Tags are what is on
disk: never rename one, and give every field added later a default so old logs
still decode (msgspec schema evolution).

Payload fields typed ``Any`` (params, results, recorded host responses) hold
plain msgpack data: None, bool, int (64-bit), float, str, bytes, list and dict.
They round-trip exactly, with one caveat of msgpack itself: a tuple comes back
as a list, so store lists if you compare payloads after a round trip.
"""

from __future__ import annotations

from typing import Any, Union

import msgspec

from .encoding import decode_value, encode_value

__all__ = [
    "ENTRY_KINDS",
    "AnyEntry",
    "BeginAtomicRegion",
    "BeginRemoteWrite",
    "ChangePersistenceLevel",
    "ChangeRetryPolicy",
    "CompletePromise",
    "Create",
    "CreatePromise",
    "EndAtomicRegion",
    "EndRemoteWrite",
    "Entry",
    "Error",
    "Exited",
    "ExportedFunctionCompleted",
    "ExportedFunctionInvoked",
    "ImportedFunctionInvoked",
    "Interrupted",
    "Jump",
    "NoOp",
    "PendingWorkerInvocation",
    "Resume",
    "Suspend",
    "decode_entry",
    "encode_entry",
]


class Entry(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", omit_defaults=True):
    """Base of every entry kind; `timestamp` is ns since the Unix epoch, set by the caller."""

    timestamp: int = 0


class Create(Entry, tag="Create"):
    """First entry of every log (index 1): what the worker was created from."""

    template_id: str
    template_version: int
    worker_name: str
    account_id: str
    args: list[str] = []
    env: list[tuple[str, str]] = []


class ExportedFunctionInvoked(Entry, tag="ExportedFunctionInvoked"):
    """An invocation started; `pending_idx` points at its PendingWorkerInvocation if it was queued."""

    function: str
    params: Any
    invocation_key: str | None = None
    calling_convention: str = "component"
    pending_idx: int | None = None


class ExportedFunctionCompleted(Entry, tag="ExportedFunctionCompleted"):
    """The invocation started by the last ExportedFunctionInvoked returned `result`."""

    result: Any
    consumed_ns: int = 0


class ImportedFunctionInvoked(Entry, tag="ImportedFunctionInvoked"):
    """A host call and its recorded response; `kind` is read-local, write-local, read-remote or write-remote."""

    function: str
    response: Any
    kind: str


class CreatePromise(Entry, tag="CreatePromise"):
    """A promise was created; this entry's index is the promise's `oplogIdx`."""


class CompletePromise(Entry, tag="CompletePromise"):
    """The promise created at `promise_idx` was completed with `data`."""

    promise_idx: int
    data: bytes


class Suspend(Entry, tag="Suspend"):
    """The worker suspended (awaiting a promise, or sleeping until `wake_at_ns`)."""

    reason: str = ""
    wake_at_ns: int | None = None


class Interrupted(Entry, tag="Interrupted"):
    """The worker was interrupted by a client."""


class Resume(Entry, tag="Resume"):
    """An interrupted or suspended worker was resumed."""


class Exited(Entry, tag="Exited"):
    """The guest called exit."""

    code: int = 0


class Error(Entry, tag="Error"):
    """An invocation attempt failed; `retriable` tells whether the retry policy applies."""

    details: str
    retriable: bool = True


class NoOp(Entry, tag="NoOp"):
    """Placeholder; also written by the store for indexes handed out by a batch that was never committed."""


class Jump(Entry, tag="Jump"):
    """Replay skips the inclusive index region [start, end]."""

    start: int
    end: int


class ChangeRetryPolicy(Entry, tag="ChangeRetryPolicy"):
    """The guest changed its retry policy (durations in ns)."""

    max_attempts: int
    min_delay_ns: int
    max_delay_ns: int
    multiplier: int


class BeginAtomicRegion(Entry, tag="BeginAtomicRegion"):
    """Start of a region that is re-executed whole unless its end was recorded."""


class EndAtomicRegion(Entry, tag="EndAtomicRegion"):
    """End of the atomic region that began at `begin_index`."""

    begin_index: int


class BeginRemoteWrite(Entry, tag="BeginRemoteWrite"):
    """A remote write is about to happen (committed before it does)."""


class EndRemoteWrite(Entry, tag="EndRemoteWrite"):
    """The remote write that began at `begin_index` finished."""

    begin_index: int


class PendingWorkerInvocation(Entry, tag="PendingWorkerInvocation"):
    """An invocation was queued (durable before the client is answered)."""

    function: str
    params: Any
    invocation_key: str | None = None
    calling_convention: str = "component"


class InvocationRejected(Entry, tag="InvocationRejected"):
    """The invocation queued at `pending_idx` was refused when its turn came (its params
    did not fit, e.g. a resource handle that does not exist): it never ran, and recovery
    does not queue it again."""

    pending_idx: int
    reason: str


class ChangePersistenceLevel(Entry, tag="ChangePersistenceLevel"):
    """The guest changed its persistence level."""

    level: str


AnyEntry = Union[
    Create,
    ExportedFunctionInvoked,
    ExportedFunctionCompleted,
    ImportedFunctionInvoked,
    CreatePromise,
    CompletePromise,
    Suspend,
    Interrupted,
    Resume,
    Exited,
    Error,
    NoOp,
    Jump,
    ChangeRetryPolicy,
    BeginAtomicRegion,
    EndAtomicRegion,
    BeginRemoteWrite,
    EndRemoteWrite,
    PendingWorkerInvocation,
    InvocationRejected,
    ChangePersistenceLevel,
]

ENTRY_KINDS: dict[str, type] = {cls.__struct_config__.tag: cls for cls in AnyEntry.__args__}

_DECODER = msgspec.msgpack.Decoder(AnyEntry)


# An entry is stored like every value: format-version byte + msgpack.
encode_entry = encode_value


def decode_entry(data: bytes | memoryview) -> Entry:
    """Decode stored bytes; raises UnknownFormatVersion or CorruptEntry."""
    return decode_value(_DECODER, data, "oplog entry")
