"""LMDB sub-database names and the key conventions of each.

Keys are utf-8 strings compared as bytes, so every `scan` returns key order.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "OPLOG_DB",
    "Table",
    "promise_key",
    "worker_keys_key",
    "template_version_key",
    "worker_key",
]


class Table(str, Enum):
    """The index tables a Batch may `put` to and the store may `get`/`scan`."""

    WORKERS = "workers"  # worker_key -> WorkerRecord
    KEYS = "keys"  # invocation key -> InvocationKeyRecord
    WORKER_KEYS = "worker_keys"  # worker_keys_key(...) -> True: each worker's invocation keys
    PROMISES = "promises"  # promise_key(...) -> PromiseRecord
    TEMPLATES = "templates"  # template_id -> TemplateRecord
    TEMPLATE_VERSIONS = "template_versions"  # template_version_key(...) -> TemplateVersionRecord
    ACCOUNTS = "accounts"  # account_id -> AccountRecord
    TOKENS = "tokens"  # sha256 hex of a token -> TokenRecord (never the token itself)
    META = "meta"  # str -> any msgpack value
    BLOBS = "blobs"  # sha256 hex -> raw bytes (wasm files), stored without a version byte


# The logs themselves: key = worker_key utf-8 + b"\0" + index as 8-byte big
# endian; value = a stored entry, or a run of consecutive entries keyed by the
# last one's index (runs.py). Appends to existing logs wait in the "recent"
# table (recent.py) and move here in bulk.
OPLOG_DB = "oplog"


def worker_key(template_id: str, worker_name: str) -> str:
    """The key of a worker's log and of its "workers" row."""
    return f"{template_id}/{worker_name}"


def promise_key(template_id: str, worker_name: str, oplog_idx: int) -> str:
    """The "promises" key; zero-padded so one worker's promises sort by index."""
    return f"{template_id}/{worker_name}/{oplog_idx:020d}"


def worker_keys_key(template_id: str, worker_name: str, invocation_key: str) -> str:
    """The "worker_keys" key: a worker's keys share the prefix `worker_key(...) + "/"`, so
    deleting a worker finds its keys without reading every worker's."""
    return f"{template_id}/{worker_name}/{invocation_key}"


def template_version_key(template_id: str, version: int) -> str:
    """The "template_versions" key; zero-padded so versions sort numerically."""
    return f"{template_id}/{version:010d}"
