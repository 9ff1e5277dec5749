"""The aiohttp application: routes of SPEC §3/§4 turned into executor calls."""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections import defaultdict

import msgspec
import structlog
from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.http_exceptions import HttpProcessingError

from executor import CONVENTIONS, Accounts, Executor, InvalidRequest

from . import filters, models as M, views
from .metrics import Histogram
from .errors import (
    ACCOUNT, REQUEST_ID, Unauthorized, http_exception_response, json_response, new_request_id, to_response,
)
from .openapi import openapi_document

log = structlog.get_logger("golemite.http")

EXECUTOR = web.AppKey("executor", Executor)
ACCOUNTS = web.AppKey("accounts", Accounts)
SETTINGS = web.AppKey("settings", dict)
STATS = web.AppKey("stats", dict)

_decode_create = msgspec.json.Decoder(M.WorkerCreationRequest)
_decode_invoke = msgspec.json.Decoder(M.InvokeBody)
_decode_complete = msgspec.json.Decoder(M.CompleteBody)
OPEN_PATHS = ("/healthz", "/metrics", "/openapi.json")
_INTEGER = re.compile(r"-?[0-9]+")
# A high surrogate escape not followed by a low one, or a low one not preceded by a high one.
_LONE_SURROGATE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                             rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


# ------------------------------------------------------------------ middlewares

@web.middleware
async def request_middleware(request: web.Request, handler):
    """Request id, authentication, errors to responses, and the access log line.

    One middleware, not one per concern: each layer costs a coroutine frame per request.
    """
    started = time.perf_counter()
    request_id = request.headers.get("X-Request-Id") or new_request_id()
    request[REQUEST_ID] = request_id
    app = request.app  # a property that walks the match info: read it once
    status = 500
    response = None
    try:
        authenticate(request, app[ACCOUNTS])
        response = await handler(request)
    except web.HTTPException as e:
        response = http_exception_response(e)
        if response is None:
            status = e.status
            raise
    except Exception as e:  # noqa: BLE001 - every error becomes a response with a body
        response = to_response(e, request_id)
    finally:
        if response is not None:
            status = response.status
        elapsed = time.perf_counter() - started
        stats = app[STATS]
        stats["requests"][status] += 1
        stats["durations"].observe(elapsed)
        _access_log().info("request", method=request.method, path=request.path, status=status,
                           duration_ms=round(elapsed * 1000, 2), request_id=request_id)
    return response


_bound_access_log = None


def _access_log():
    """The access logger, bound once (on first use, like structlog's cache_logger_on_first_use):
    a call through the module's lazy proxy re-binds on every line."""
    global _bound_access_log
    if _bound_access_log is None:
        _bound_access_log = log.bind()
    return _bound_access_log


def authenticate(request: web.Request, accounts: Accounts) -> None:
    """Bearer token -> account (SPEC §2); its errors are mapped like a handler's."""
    if request.path in OPEN_PATHS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    account = accounts.account_for_token(token.strip())
    if account is None:
        raise Unauthorized("unknown bearer token")
    request[ACCOUNT] = account


# ------------------------------------------------------------------ helpers

def _ex(request) -> Executor:
    return request.app[EXECUTOR]


async def _body(request: web.Request, decoder):
    raw = await request.read()
    if not raw.strip():
        raise InvalidRequest("the request body is empty; send a JSON object")
    try:
        return decoder.decode(raw)
    except UnicodeDecodeError:  # msgspec's error for bad UTF-8 inside a string
        raise InvalidRequest("the request body is not valid JSON: a string in it is not valid UTF-8") from None
    except RecursionError:
        raise InvalidRequest("the request body is not valid JSON: its arrays or objects nest too deeply") from None
    except msgspec.DecodeError:
        # msgspec calls an escaped lone surrogate ("\ud800") "truncated input".
        if _LONE_SURROGATE.search(raw):
            raise InvalidRequest("the request body is not valid JSON: a \\u escape is half of a surrogate "
                                 "pair (\\ud800 to \\udfff must come as a high-low pair)") from None
        raise


def _int_query(request, name: str, default: int | None = None, minimum: int = 0) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    # Plain ASCII digits: int() would also take '+5', ' 5', '1_0' and other scripts' digits.
    if not _INTEGER.fullmatch(raw):
        raise InvalidRequest(f"query parameter {name} must be an integer, got {raw!r}")
    # A long one is out of range whatever it is (and int() refuses past 4,300 digits).
    value = int(raw) if len(raw) <= 30 else None
    if value is None or not minimum <= value <= M.MAX_QUERY_INT:
        raise InvalidRequest(f"query parameter {name} must be from {minimum} to {M.MAX_QUERY_INT}")
    return value


def _convention(request) -> str:
    # Checked before the executor sees the call, which would first create a missing worker.
    convention = request.query.get("calling-convention", "component")
    if convention not in CONVENTIONS:
        raise InvalidRequest(f"unknown calling-convention {convention!r}; use one of {', '.join(CONVENTIONS)}")
    return convention


def _bool_query(request, name: str) -> bool:
    raw = request.query.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0", ""):
        raise InvalidRequest(f"query parameter {name} must be true or false")
    return raw in ("true", "1")


def _worker_args(request) -> tuple[str, str, str]:
    return request[ACCOUNT], request.match_info["templateId"], request.match_info["workerName"]


# ------------------------------------------------------------------ templates

async def _read_wasm_form(request: web.Request) -> tuple[str, bytes]:
    if not request.content_type.startswith("multipart/"):
        raise InvalidRequest("send multipart/form-data with fields 'name' and 'template'")
    name, wasm = None, None
    try:
        reader = await request.multipart()
        async for part in reader:
            # Only the two fields, once each: a misspelt or repeated one is the
            # client's mistake, not something to pass over.
            if part.name not in ("name", "template"):
                raise InvalidRequest(f"unknown form field {part.name!r}; send only 'name' and 'template'")
            if (name if part.name == "name" else wasm) is not None:
                raise InvalidRequest(f"form field {part.name!r} sent twice")
            if part.name == "name":
                name = (await part.text()).strip()
            else:
                wasm = bytes(await part.read())
    except (HttpProcessingError, ValueError, LookupError, RuntimeError) as e:
        # aiohttp reports a malformed body, an unknown charset or encoding of a part with
        # these; none of them is a server fault.
        raise InvalidRequest(f"malformed multipart/form-data body: {e}") from None
    missing = [f for f, v in (("name", name), ("template", wasm)) if v is None]
    if missing:
        raise InvalidRequest(*(f"missing form field '{f}'" for f in missing))
    return name, wasm


async def create_template(request):
    name, wasm = await _read_wasm_form(request)
    record, version = await _ex(request).templates.add(request[ACCOUNT], name, wasm)
    return json_response(views.template(record, version))


async def list_templates(request):
    ex = _ex(request)
    out = []
    for record in ex.templates.list(request[ACCOUNT], request.query.get("template-name")):
        out.append(views.template(record, ex.templates.version(request[ACCOUNT], record.template_id)))
    return json_response(out)


async def template_versions(request):
    ex, account, tid = _ex(request), request[ACCOUNT], request.match_info["templateId"]
    record = ex.templates.get_record(account, tid)
    return json_response([views.template(record, v) for v in ex.templates.versions(account, tid)])


async def latest_template(request):
    ex, account, tid = _ex(request), request[ACCOUNT], request.match_info["templateId"]
    record = ex.templates.get_record(account, tid)
    return json_response(views.template(record, ex.templates.version(account, tid)))


async def upload_template(request):
    wasm = await request.read()
    record, version = await _ex(request).templates.update(request[ACCOUNT], request.match_info["templateId"], wasm)
    return json_response(views.template(record, version))


async def download_template(request):
    version = _int_query(request, "version")
    data = _ex(request).templates.download(request[ACCOUNT], request.match_info["templateId"], version)
    return web.Response(body=data, content_type="application/octet-stream")


# ------------------------------------------------------------------ workers

async def parse_worker_id(request):
    raw = request.match_info["workerId"]
    tid, dot, name = raw.partition(".")
    if not dot or not tid or not name:
        raise InvalidRequest(f"worker id {raw!r} must be templateId.workerName")
    Executor.check_name(name)
    w = _ex(request).get_worker(request[ACCOUNT], tid, name)
    return json_response(views.versioned_worker_id(tid, name, w.record.template_version))


async def create_worker(request):
    body = await _body(request, _decode_create)
    env = list(body.env.items()) if isinstance(body.env, dict) else [tuple(kv) for kv in body.env]
    tid = request.match_info["templateId"]
    w = await _ex(request).create_worker(request[ACCOUNT], tid, body.name, body.args, env)
    return json_response(views.versioned_worker_id(tid, body.name, w.record.template_version))


async def get_worker(request):
    w = _ex(request).get_worker(*_worker_args(request))
    return json_response(views.worker_metadata(w.shown_record()))


async def delete_worker(request):
    await _ex(request).delete_worker(*_worker_args(request))
    return json_response({})


async def list_workers(request):
    account, tid = request[ACCOUNT], request.match_info["templateId"]
    preds = [filters.parse(f) for f in request.query.getall("filter", [])]
    count = _int_query(request, "count", 100, minimum=1)
    after = None
    if "cursor" in request.query:
        # Strict decoding: the lenient one drops stray characters, so garbage would
        # silently restart the listing from the top.
        try:
            after = base64.b64decode(request.query["cursor"].encode(), altchars=b"-_", validate=True).decode()
        except ValueError:
            after = ""
        if not after:
            raise InvalidRequest("invalid cursor: pass back the cursor of the previous page")
    records = sorted(_ex(request).list_workers(account, tid), key=lambda r: r.worker_name)
    matching = [r for r in records if (after is None or r.worker_name > after) and all(p(r) for p in preds)]
    page = matching[:count]
    cursor = None
    if len(matching) > count:
        cursor = base64.urlsafe_b64encode(page[-1].worker_name.encode()).decode()
    return json_response(M.WorkersPage([views.worker_metadata(r) for r in page], cursor))


async def new_key(request):
    key = await _ex(request).new_key(*_worker_args(request))
    return json_response({"value": key})


def _function(request) -> str:
    function = request.query.get("function")
    if not function:
        raise InvalidRequest("query parameter 'function' is required")
    return function


async def invoke_and_await(request):
    function, convention = _function(request), _convention(request)
    body = await _body(request, _decode_invoke)
    app = request.app
    timeout = app[SETTINGS]["invoke_timeout"]
    result = await app[EXECUTOR].invoke_and_await(
        *_worker_args(request), function, body.params, key=request.query.get("invocation-key"),
        convention=convention, timeout=timeout)
    return json_response({"result": result})


async def invoke(request):
    function, convention = _function(request), _convention(request)
    body = await _body(request, _decode_invoke)
    await _ex(request).invoke(*_worker_args(request), function, body.params, convention=convention)
    return json_response({})


async def complete_promise(request):
    body = await _body(request, _decode_complete)
    if any(not 0 <= b <= 255 for b in body.data):
        raise InvalidRequest("data must be an array of bytes (numbers from 0 to 255)")
    done = await _ex(request).complete_promise(*_worker_args(request), body.oplog_idx, bytes(body.data))
    return json_response(done)


async def interrupt(request):
    recover = _bool_query(request, "recover-immediately")
    return json_response(await _ex(request).interrupt(*_worker_args(request), recover))


async def resume(request):
    await _ex(request).resume(*_worker_args(request))
    return json_response({})


async def get_oplog(request):
    start = _int_query(request, "from", 1, minimum=1)
    count = _int_query(request, "count", 100, minimum=1)
    w, entries = _ex(request).oplog(*_worker_args(request), start, count)
    last = _ex(request).store.committed_last_index(w.key)
    end = entries[-1][0] if entries else start - 1
    nxt = end + 1 if end < last else None
    return json_response(M.OplogPage([views.oplog_entry(i, e) for i, e in entries], nxt))


async def connect(request):
    w = _ex(request).get_worker(*_worker_args(request))
    ws = web.WebSocketResponse(heartbeat=30)
    if not ws.can_prepare(request).ok:
        raise InvalidRequest("connect is a websocket endpoint: send a websocket upgrade request")
    await ws.prepare(request)
    queue: asyncio.Queue = asyncio.Queue(maxsize=10_000)
    w.listeners.add(queue)
    reader = asyncio.ensure_future(ws.receive())
    deleted = False
    try:
        while True:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                getter.cancel()
                msg = reader.result()
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
                reader = asyncio.ensure_future(ws.receive())
                continue
            event = getter.result()
            if event is None:  # the worker was deleted
                deleted = True
                break
            await ws.send_str(msgspec.json.encode(event).decode())
    finally:
        w.listeners.discard(queue)
        reader.cancel()
        # A normal close says the stream is over for good; the daemon stopping is "going
        # away", so that a client can tell the two apart.
        if deleted:
            await ws.close(code=WSCloseCode.OK, message=b"the worker was deleted")
        else:
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"the daemon is stopping")
    return ws


# ------------------------------------------------------------------ operations

async def healthz(request):
    return json_response({"status": "ok"})


# The Prometheus text exposition format, version 0.0.4.
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def metrics(request):
    ex = _ex(request)
    store_stats = getattr(ex.store, "stats", {}) or {}
    stats = request.app[STATS]
    # (name, type, help, samples: each the part of its line after the name)
    families = (
        ("golemite_http_requests_total", "counter", "HTTP requests answered, by status code.",
         [f'{{status="{status}"}} {n}' for status, n in sorted(stats["requests"].items())]),
        ("golemite_http_request_duration_seconds", "histogram",
         "Time from a request's arrival to its answer (every endpoint; invoke-and-await includes the call).",
         stats["durations"].samples()),
        ("golemite_invocations_total", "counter", "Invocations that completed with a result.",
         [f" {int(ex.metrics['invocations'])}"]),
        ("golemite_oplog_commits_total", "counter", "Oplog transactions committed (group commits).",
         [f" {int(store_stats.get('commits', 0))}"]),
        ("golemite_oplog_entries_total", "counter", "Oplog entries committed.",
         [f" {int(store_stats.get('entries', 0))}"]),
        ("golemite_live_workers", "gauge", "Workers with an instance in memory.",
         [f" {ex.live_count()}"]),
        ("golemite_worker_objects", "gauge",
         "Workers known in memory, with an instance or not (those at rest are forgotten in time).",
         [f" {len(ex.workers)}"]),
        ("golemite_workers_forgotten_total", "counter",
         "Worker objects at rest dropped from memory (made anew from their stored row on next use).",
         [f" {int(ex.metrics['workers_forgotten'])}"]),
        ("golemite_oplog_logs_in_memory", "gauge",
         "Oplogs the store keeps a state for in memory (a settled one is forgotten with its worker).",
         [f" {ex.store.tracked_logs()}"]),
        ("golemite_replay_seconds_total", "counter", "Seconds spent replaying oplogs into worker instances.",
         [f" {ex.metrics['replay_seconds']:.6f}"]),
        ("golemite_replays_total", "counter",
         "Worker instances built by replaying their oplogs (a new worker's first instance included).",
         [f" {int(ex.metrics['replays'])}"]),
    )
    lines = []
    for name, kind, text, samples in families:
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
        lines += [name + sample for sample in samples]
    return web.Response(body=("\n".join(lines) + "\n").encode(), headers={"Content-Type": METRICS_CONTENT_TYPE})


async def openapi(request):
    return json_response(openapi_document())


def create_app(executor: Executor, *, invoke_timeout: float = 60.0, max_body_bytes: int = 64 << 20) -> web.Application:
    app = web.Application(client_max_size=max_body_bytes,
                          middlewares=[request_middleware])
    app[EXECUTOR] = executor
    app[ACCOUNTS] = Accounts(executor.store)
    app[SETTINGS] = {"invoke_timeout": invoke_timeout}
    app[STATS] = {"requests": defaultdict(int), "durations": Histogram()}
    r = app.router
    w = "/v1/templates/{templateId}/workers"
    # aiohttp tries the routes under one static prefix in the order they were added:
    # the invocation routes, which carry nearly all traffic, go first. No two of these
    # patterns match the same path, so the order changes nothing else.
    r.add_post(w + "/{workerName}/invoke-and-await", invoke_and_await)
    r.add_post(w + "/{workerName}/invoke", invoke)
    r.add_get("/healthz", healthz)
    r.add_get("/metrics", metrics)
    r.add_get("/openapi.json", openapi)
    r.add_post("/v1/templates", create_template)
    r.add_get("/v1/templates", list_templates)
    r.add_get("/v1/templates/workers/{workerId}", parse_worker_id)
    r.add_get("/v1/templates/{templateId}", template_versions)
    r.add_get("/v1/templates/{templateId}/latest", latest_template)
    r.add_put("/v1/templates/{templateId}/upload", upload_template)
    r.add_get("/v1/templates/{templateId}/download", download_template)
    r.add_post(w, create_worker)
    r.add_get(w, list_workers)
    r.add_get(w + "/{workerName}", get_worker)
    r.add_delete(w + "/{workerName}", delete_worker)
    r.add_post(w + "/{workerName}/key", new_key)
    r.add_post(w + "/{workerName}/complete", complete_promise)
    r.add_post(w + "/{workerName}/interrupt", interrupt)
    r.add_post(w + "/{workerName}/resume", resume)
    r.add_get(w + "/{workerName}/oplog", get_oplog)
    r.add_get(w + "/{workerName}/connect", connect)
    return app


__all__ = ["create_app", "EXECUTOR"]
