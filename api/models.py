"""Request and response shapes of the HTTP API (SPEC §3, §4), as msgspec Structs."""

from __future__ import annotations

from typing import Annotated, Any, Union

import msgspec


class WorkerId(msgspec.Struct, rename="camel"):
    raw_template_id: str
    worker_name: str


class VersionedWorkerId(msgspec.Struct, rename="camel"):
    worker_id: WorkerId
    template_version_used: int


class VersionedTemplateId(msgspec.Struct, rename="camel"):
    raw_template_id: str
    version: int


class TemplateMetadataView(msgspec.Struct):
    exports: list[Any]


class Template(msgspec.Struct, rename="camel"):
    versioned_template_id: VersionedTemplateId
    template_name: str
    template_size: int
    metadata: TemplateMetadataView


# Oplog indexes and versions are stored as 64-bit keys; a bigger query number could not
# name anything, so it is rejected rather than overflowing a key.
MAX_QUERY_INT = (1 << 63) - 1

# SPEC §4: 1-100 characters of [A-Za-z0-9_-], not starting with '-'.
WorkerName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,99}$")]


class WorkerCreationRequest(msgspec.Struct, forbid_unknown_fields=True):
    name: WorkerName
    args: list[str] = []
    env: Union[list[tuple[str, str]], dict[str, str]] = []


class InvokeBody(msgspec.Struct, forbid_unknown_fields=True):
    # Required, and nothing beside it: a misspelt key must be a 400, not a call made
    # without the parameters its caller meant to send.
    params: Any


class CompleteBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    oplog_idx: Annotated[int, msgspec.Meta(ge=1)]  # oplog indexes start at 1
    data: list[int]


class WorkerMetadata(msgspec.Struct, rename="camel", omit_defaults=False):
    worker_id: WorkerId
    account_id: str
    args: list[str]
    env: dict[str, str]
    status: str
    template_version: int
    retry_count: int
    pending_invocation_count: int
    created_at: str
    last_error: str | None = None


class WorkersPage(msgspec.Struct):
    workers: list[WorkerMetadata]
    cursor: str | None


class InvokeResult(msgspec.Struct):
    result: Any


class KeyValue(msgspec.Struct):
    value: str


class OplogPage(msgspec.Struct):
    entries: list[dict[str, Any]]
    next: int | None


class ErrorsBody(msgspec.Struct):
    errors: list[str]


class ErrorBody(msgspec.Struct):
    error: str
