"""Turn executor records and oplog entries into the JSON shapes of SPEC §3, §4, §7."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import msgspec

from . import models as M


def rfc3339(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def template(record, version) -> M.Template:
    return M.Template(
        versioned_template_id=M.VersionedTemplateId(record.template_id, version.version),
        template_name=record.name, template_size=version.size,
        metadata=M.TemplateMetadataView(exports=list(version.metadata.get("exports", []))),
    )


def versioned_worker_id(template_id: str, name: str, version: int) -> M.VersionedWorkerId:
    return M.VersionedWorkerId(M.WorkerId(template_id, name), version)


def worker_metadata(rec) -> M.WorkerMetadata:
    return M.WorkerMetadata(
        worker_id=M.WorkerId(rec.template_id, rec.worker_name), account_id=rec.account_id,
        args=list(rec.args), env={k: v for k, v in rec.env}, status=rec.status,
        template_version=rec.template_version, retry_count=rec.retry_count,
        pending_invocation_count=rec.pending_count, created_at=rfc3339(rec.created_at),
        last_error=rec.last_error,
    )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _plain(v: Any) -> Any:
    if isinstance(v, bytes):
        return list(v)
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def oplog_entry(idx: int, entry) -> dict[str, Any]:
    out: dict[str, Any] = {"oplogIdx": idx, "type": type(entry).__name__, "timestamp": rfc3339(entry.timestamp)}
    for field in entry.__struct_fields__:
        if field == "timestamp":
            continue
        out[_camel(field)] = _plain(msgspec.to_builtins(getattr(entry, field), builtin_types=(bytes,)))
    return out
