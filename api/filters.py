"""Worker list filters: `PROPERTY OP VALUE`, all of which must match (SPEC §4)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Callable

from executor import InvalidRequest

OPS = ("==", "!=", ">=", "<=", ">", "<", "notlike", "like")
_FILTER = re.compile(r"^\s*(name|status|version|created-at|env\.[^\s]+)\s*(==|!=|>=|<=|>|<|notlike|like)\s*(.*?)\s*$")


def like_matcher(pattern: str) -> Callable[[str], bool]:
    """`text like pattern`, `%` standing for any run of characters, in linear time.

    Not a regex: `%` as `.*` backtracks, and a pattern of a few `%` against a long name
    held the event loop for minutes. With `%` the only wildcard, taking each middle piece
    at its first place after the previous one is exact: a later place never leaves more
    room for the pieces after it.
    """
    pieces = pattern.split("%")
    if len(pieces) == 1:
        return lambda text: text == pattern
    head, middle, tail = pieces[0], pieces[1:-1], pieces[-1]

    def matches(text: str) -> bool:
        end = len(text) - len(tail)
        if end < len(head) or not text.startswith(head) or not text.endswith(tail):
            return False
        at = len(head)
        for piece in middle:
            found = text.find(piece, at, end)
            if found < 0:
                return False
            at = found + len(piece)
        return True
    return matches


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
        matches = like_matcher(value)
        want = op == "like"

        def match(rec) -> bool:
            # Like every comparison, neither matches a worker without the env variable.
            v = _value_of(rec, prop)
            return v is not None and matches(str(v)) == want
        return match
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
