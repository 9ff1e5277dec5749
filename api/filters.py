"""Worker list filters: `PROPERTY OP VALUE`, all of which must match (SPEC §4)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Callable

from executor import InvalidRequest

OPS = ("==", "!=", ">=", "<=", ">", "<", "notlike", "like")
_FILTER = re.compile(r"^\s*(name|status|version|created-at|env\.[^\s]+)\s*(==|!=|>=|<=|>|<|notlike|like)\s*(.*?)\s*$")


def _like(pattern: str) -> re.Pattern:
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("%")) + "$", re.DOTALL)


def _compare(op: str, a: Any, b: Any) -> bool:
    return {"==": a == b, "!=": a != b, ">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b}[op]


def parse(text: str) -> Callable[[Any], bool]:
    m = _FILTER.match(text)
    if not m:
        raise InvalidRequest(
            f"invalid filter {text!r}: use PROPERTY OP VALUE with PROPERTY one of name, status, version, "
            f"created-at, env.NAME and OP one of {', '.join(OPS)}")
    prop, op, value = m.groups()
    if op in ("like", "notlike"):
        rx = _like(value)
        want = op == "like"

        def get_text(rec) -> str:
            return str(_value_of(rec, prop))
        return lambda rec: bool(rx.match(get_text(rec))) == want
    if prop == "version":
        try:
            target: Any = int(value)
        except ValueError:
            raise InvalidRequest(f"invalid filter {text!r}: version must be a number") from None
    elif prop == "created-at":
        try:
            target = int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1e9)
        except ValueError:
            raise InvalidRequest(f"invalid filter {text!r}: created-at must be an RFC 3339 timestamp") from None
    else:
        target = value
    return lambda rec: (v := _value_of(rec, prop)) is not None and _compare(op, v, target)


def _value_of(rec, prop: str) -> Any:
    if prop == "name":
        return rec.worker_name
    if prop == "status":
        return rec.status
    if prop == "version":
        return rec.template_version
    if prop == "created-at":
        return rec.created_at
    name = prop[4:]
    return next((v for k, v in rec.env if k == name), None)
