"""Index rows: frozen msgspec Structs stored as version byte + msgpack.

Rows are caches derived from the logs (except templates, accounts, tokens and
unused invocation keys, which have no log). Update a row with
``msgspec.structs.replace(row, field=value)`` and put it back.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .encoding import decode_value, encode_value
from .errors import OplogError
from .tables import Table

__all__ = [
    "AccountRecord",
    "InvocationKeyRecord",
    "PromiseRecord",
    "TABLE_TYPES",
    "TemplateRecord",
    "TemplateVersionRecord",
    "TokenRecord",
    "WorkerRecord",
    "decode_record",
    "encode_record",
]


class WorkerRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A worker's static facts (from its Create entry) plus cached status fields."""

    template_id: str
    worker_name: str
    template_version: int
    account_id: str
    args: list[str]
    env: list[tuple[str, str]]
    created_at: int
    status: str = "Idle"
    pending_count: int = 0
    retry_count: int = 0
    last_error: str | None = None


class InvocationKeyRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An invocation key: "created" by /key, "pending" once invoked, "complete" with its result's index."""

    template_id: str
    worker_name: str
    state: str
    completed_idx: int | None = None


class PromiseRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A promise created at `oplog_idx` of a worker's log."""

    template_id: str
    worker_name: str
    oplog_idx: int
    state: str
    data: bytes | None = None


class TemplateRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An uploaded template; its versions live in "template_versions"."""

    template_id: str
    name: str
    account_id: str
    latest_version: int
    created_at: int


class TemplateVersionRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One uploaded version of a template; the wasm itself is the blob named by `sha256`."""

    template_id: str
    version: int
    size: int
    sha256: str
    metadata: Any
    created_at: int


class AccountRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An account."""

    account_id: str
    name: str
    created_at: int


class TokenRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The account a bearer token belongs to (the row is keyed by the token's sha256)."""

    account_id: str


# `Any` marks tables whose values are free-form msgpack data.
TABLE_TYPES: dict[str, Any] = {
    Table.WORKERS.value: WorkerRecord,
    Table.KEYS.value: InvocationKeyRecord,
    Table.WORKER_KEYS.value: bool,
    Table.PROMISES.value: PromiseRecord,
    Table.TEMPLATES.value: TemplateRecord,
    Table.TEMPLATE_VERSIONS.value: TemplateVersionRecord,
    Table.ACCOUNTS.value: AccountRecord,
    Table.TOKENS.value: TokenRecord,
    Table.META.value: Any,
}

_DECODERS = {name: msgspec.msgpack.Decoder(tp) for name, tp in TABLE_TYPES.items()}


def encode_record(table: str, value: Any) -> bytes:
    """Check `value` against the table's row type and encode it for storage."""
    expected = TABLE_TYPES.get(table)
    if expected is None:
        raise OplogError(f"unknown table {table!r}")
    if expected is not Any and type(value) is not expected:
        raise OplogError(
            f"table {table!r} stores {expected.__name__}, got {type(value).__name__}"
        )
    try:
        return encode_value(value)
    except (TypeError, msgspec.EncodeError) as exc:
        raise OplogError(f"cannot encode a value for table {table!r}: {exc}") from exc


def decode_record(table: str, data: bytes | memoryview) -> Any:
    """Decode a stored row of `table`; raises UnknownFormatVersion or CorruptEntry."""
    return decode_value(_DECODERS[table], data, f"{table} row")
