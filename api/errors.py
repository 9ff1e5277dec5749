"""The one place where domain errors become HTTP responses (SPEC §4 "Errors")."""

from __future__ import annotations

import itertools
import uuid

import msgspec
import structlog
from aiohttp import web

from executor import (
    AlreadyExists, InvalidRequest, InvocationFailed, InvocationTimeout, LimitExceeded, NotFound,
)

log = structlog.get_logger(__name__)

_json = msgspec.json.Encoder()

REQUEST_ID = web.RequestKey("request_id", str)
ACCOUNT = web.RequestKey("account", str)


def json_response(body, status: int = 200) -> web.Response:
    return web.Response(body=_json.encode(body), status=status, content_type="application/json")


def errors_400(*messages: str) -> web.Response:
    return json_response({"errors": list(messages)}, 400)


def error(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status)


class Unauthorized(Exception):
    pass


def to_response(exc: BaseException, request_id: str) -> web.Response:
    if isinstance(exc, InvalidRequest):
        return errors_400(*exc.errors)
    if isinstance(exc, msgspec.ValidationError):
        return errors_400(f"invalid request body: {exc}")
    if isinstance(exc, msgspec.DecodeError):
        return errors_400(f"the request body is not valid JSON: {exc}")
    if isinstance(exc, Unauthorized):
        return error(401, str(exc) or "missing or unknown bearer token")
    if isinstance(exc, LimitExceeded):
        return error(403, str(exc))
    if isinstance(exc, NotFound):
        return error(404, str(exc))
    if isinstance(exc, AlreadyExists):
        return error(409, str(exc))
    if isinstance(exc, InvocationTimeout):
        return error(504, str(exc))
    if isinstance(exc, InvocationFailed):
        return error(500, str(exc))
    log.error("unexpected error", request_id=request_id, exc_info=exc)
    return error(500, f"internal error (request id {request_id})")


_ID_PREFIX = uuid.uuid4().hex[:8]
_ids = itertools.count(1)


def new_request_id() -> str:
    # A process prefix and a counter: unique enough to find a request in the logs,
    # without a random draw (a system call) per request.
    return f"{_ID_PREFIX}{next(_ids):08x}"


def http_exception_response(e: web.HTTPException) -> web.Response | None:
    """aiohttp's own errors, with a JSON body like ours; None: let aiohttp answer it."""
    if e.status == 413:
        return error(413, "request body too large")
    if e.status == 404:
        return error(404, "no such endpoint")
    if e.status == 405:
        return error(405, "method not allowed")
    return None
