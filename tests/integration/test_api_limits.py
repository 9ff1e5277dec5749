"""Limits and malformed requests through the HTTP layer: 413, 403, 504, 400, 404, 401 (SPEC §1, §2, §4)."""

from __future__ import annotations

import asyncio
import re
import uuid

import aiohttp
import pytest

from api.app import create_app
from executor import Accounts, Executor, ExecutorConfig
from tests.helpers import guest_bytes

TOKEN = "limits-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_BODY = 64 << 10
MAX_WORKERS = 3
INVOKE_TIMEOUT = 0.3
COUNTER = "golemite:counter/api"


@pytest.fixture
async def executor(tmp_path):
    ex = Executor(tmp_path / "data", config=ExecutorConfig(max_workers_per_account=MAX_WORKERS,
                                                           short_sleep_ns=2_000_000_000))
    await ex.start()
    Accounts(ex.store).create("default", TOKEN)
    yield ex
    await ex.close()


@pytest.fixture
async def client(executor, aiohttp_client):
    app = create_app(executor, invoke_timeout=INVOKE_TIMEOUT, max_body_bytes=MAX_BODY)
    return await aiohttp_client(app)


async def upload(client, name: str, wasm: bytes | None = None):
    form = aiohttp.FormData()
    form.add_field("name", name)
    form.add_field("template", guest_bytes(name) if wasm is None else wasm, filename=f"{name}.wasm")
    return await client.post("/v1/templates", data=form, headers=AUTH)


async def template(client, name: str) -> str:
    r = await upload(client, name)
    assert r.status == 200, await r.text()
    return (await r.json())["versionedTemplateId"]["rawTemplateId"]


async def assert_error(r, status: int, *needles: str) -> str:
    """The status and SPEC's body shape: 400 lists `errors`, the others carry one `error`."""
    assert r.status == status, await r.text()
    assert r.content_type == "application/json"
    body = await r.json()
    if status == 400:
        assert set(body) == {"errors"} and body["errors"] and all(isinstance(e, str) for e in body["errors"])
        text = " ".join(body["errors"])
    else:
        assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]
        text = body["error"]
    for needle in needles:
        assert needle in text, text
    return text


# ---------------------------------------------------------------------- 413

async def test_a_json_body_over_the_limit_is_413(client):
    tid = await template(client, "counter")
    big = {"params": ["x" * MAX_BODY]}
    r = await client.post(f"/v1/templates/{tid}/workers/w/invoke-and-await?function={COUNTER}/echo",
                          json=big, headers=AUTH)
    await assert_error(r, 413, "too large")
    r = await client.post(f"/v1/templates/{tid}/workers", json={"name": "w", "args": ["a" * MAX_BODY]}, headers=AUTH)
    await assert_error(r, 413)
    # Just under the limit still works.
    small = {"params": ["x" * (MAX_BODY - 100)]}
    r = await client.post(f"/v1/templates/{tid}/workers/w/invoke-and-await?function={COUNTER}/echo",
                          json=small, headers=AUTH)
    assert r.status == 200 and (await r.json())["result"] == small["params"]


async def test_a_template_over_the_limit_is_413_and_not_stored(client):
    too_big = guest_bytes("counter") + b"\0" * MAX_BODY
    await assert_error(await upload(client, "counter", too_big), 413)
    assert await (await client.get("/v1/templates", headers=AUTH)).json() == []
    tid = await template(client, "counter")
    r = await client.put(f"/v1/templates/{tid}/upload", data=too_big, headers=AUTH)
    await assert_error(r, 413)
    assert len(await (await client.get(f"/v1/templates/{tid}", headers=AUTH)).json()) == 1


# ---------------------------------------------------------------------- 403

async def test_workers_past_the_account_limit_are_403(client, executor):
    tid = await template(client, "counter")
    base = f"/v1/templates/{tid}/workers"
    for i in range(MAX_WORKERS - 1):
        assert (await client.post(base, json={"name": f"w{i}"}, headers=AUTH)).status == 200
    # Invoking a worker that does not exist creates it, so it counts as well.
    r = await client.post(f"{base}/implicit/invoke-and-await?function={COUNTER}/increment", json={"params": []},
                          headers=AUTH)
    assert r.status == 200
    await assert_error(await client.post(base, json={"name": "one-more"}, headers=AUTH), 403, "limit")
    r = await client.post(f"{base}/another/invoke-and-await?function={COUNTER}/increment", json={"params": []},
                          headers=AUTH)
    await assert_error(r, 403, "limit")
    await assert_error(await client.post(f"{base}/another/invoke?function={COUNTER}/increment",
                                         json={"params": []}, headers=AUTH), 403)
    await assert_error(await client.post(f"{base}/another/key", headers=AUTH), 403)
    assert (await client.get(f"{base}/another", headers=AUTH)).status == 404
    page = await (await client.get(base, headers=AUTH)).json()
    assert len(page["workers"]) == MAX_WORKERS

    # The limit is per account: another account starts from zero.
    _, other = Accounts(executor.store).create("other")
    form = aiohttp.FormData()
    form.add_field("name", "counter")
    form.add_field("template", guest_bytes("counter"), filename="counter.wasm")
    r = await client.post("/v1/templates", data=form, headers={"Authorization": f"Bearer {other}"})
    other_tid = (await r.json())["versionedTemplateId"]["rawTemplateId"]
    r = await client.post(f"/v1/templates/{other_tid}/workers", json={"name": "w0"},
                          headers={"Authorization": f"Bearer {other}"})
    assert r.status == 200

    # Deleting one frees its place.
    assert (await client.delete(f"{base}/w0", headers=AUTH)).status == 200
    assert (await client.post(base, json={"name": "one-more"}, headers=AUTH)).status == 200


# ---------------------------------------------------------------------- 504

async def test_invoke_and_await_past_the_timeout_is_504_and_the_invocation_goes_on(client):
    tid = await template(client, "interruption")
    base = f"/v1/templates/{tid}/workers/slow"
    key = (await (await client.post(f"{base}/key", headers=AUTH)).json())["value"]
    url = f"{base}/invoke-and-await?function=golemite:interruption/api/run&invocation-key={key}"
    loop = asyncio.get_running_loop()
    started = loop.time()
    r = await client.post(url, json={"params": [6, 150]}, headers=AUTH)
    await assert_error(r, 504, "goes on", "same invocation key")
    assert loop.time() - started >= INVOKE_TIMEOUT * 0.9
    meta = await (await client.get(base, headers=AUTH)).json()
    assert meta["status"] == "Running"

    # The same key waits for the same run and answers its result (1+...+6) once it is done.
    deadline = loop.time() + 10
    while True:
        r = await client.post(url, json={"params": [6, 150]}, headers=AUTH)
        if r.status == 200:
            break
        await assert_error(r, 504)
        assert loop.time() < deadline, "the timed-out invocation never finished"
    assert await r.json() == {"result": [21]}
    log = await (await client.get(f"{base}/oplog?count=1000", headers=AUTH)).json()
    invoked = [e for e in log["entries"] if e["type"] == "ExportedFunctionInvoked"]
    assert len(invoked) == 1, "the second call must not run the function again"
    # Without a key, the answer does not promise a way back to the result.
    r = await client.post(f"/v1/templates/{tid}/workers/slow2/invoke-and-await?function=golemite:interruption/api/run",
                          json={"params": [6, 150]}, headers=AUTH)
    message = await assert_error(r, 504, "goes on", "call with an invocation key")
    assert "same invocation key" not in message


# ---------------------------------------------------------------------- 400

async def test_invoke_without_function_is_400(client):
    tid = await template(client, "counter")
    for action in ("invoke-and-await", "invoke"):
        r = await client.post(f"/v1/templates/{tid}/workers/w/{action}", json={"params": []}, headers=AUTH)
        await assert_error(r, 400, "function")
        r = await client.post(f"/v1/templates/{tid}/workers/w/{action}?function=", json={"params": []}, headers=AUTH)
        await assert_error(r, 400, "function")
    assert (await client.get(f"/v1/templates/{tid}/workers/w", headers=AUTH)).status == 404


async def test_bad_calling_convention_is_400_and_creates_nothing(client):
    tid = await template(client, "counter")
    for action in ("invoke-and-await", "invoke"):
        r = await client.post(f"/v1/templates/{tid}/workers/w/{action}?function={COUNTER}/get&calling-convention=xml",
                              json={"params": []}, headers=AUTH)
        await assert_error(r, 400, "xml", "component", "stdio")
    assert (await client.get(f"/v1/templates/{tid}/workers/w", headers=AUTH)).status == 404


async def test_bad_invoke_bodies_are_400(client):
    tid = await template(client, "counter")
    url = f"/v1/templates/{tid}/workers/w/invoke-and-await?function={COUNTER}/echo"
    for raw in (b"", b"   ", b"{", b"[1]", b"null", b'"params"', b'{"params": [1]}', b'{"params": "s"}',
                b'{"params": ["a", "b"]}'):
        r = await client.post(url, data=raw, headers={**AUTH, "Content-Type": "application/json"})
        await assert_error(r, 400)
    # Invalid UTF-8 inside a string, and arrays nested past the decoder's depth, were 500s.
    deep = b'{"params": [' + b"[" * 5000 + b"]" * 5000 + b"]}"
    for raw, needle in ((b'{"params": ["\xff"]}', "UTF-8"), (b'{"\xff": 1, "params": []}', "UTF-8"),
                        (deep, "nest"), (b'{"params": ["\\ud800"]}', "surrogate"),
                        (b'{"params": ["a\\udc00b"]}', "surrogate")):
        r = await client.post(url, data=raw, headers={**AUTH, "Content-Type": "application/json"})
        await assert_error(r, 400, needle)
    # msgspec called a lone surrogate "truncated input"; a whole pair is a character like any other.
    r = await client.post(url.replace("/w/", "/pair/"), data=b'{"params": ["\\ud83d\\ude00"]}', headers=AUTH)
    assert r.status == 200 and await r.json() == {"result": ["\U0001F600"]}
    r = await client.post(f"/v1/templates/{tid}/workers", data=b'{"name": "\xff"}', headers=AUTH)
    await assert_error(r, 400, "UTF-8")
    assert (await client.get(f"/v1/templates/{tid}/workers/w", headers=AUTH)).status == 404
    r = await client.post(f"/v1/templates/{tid}/workers/w/invoke-and-await?function={COUNTER}/nope",
                          json={"params": []}, headers=AUTH)
    await assert_error(r, 400, "nope")
    r = await client.post(f"{url}&invocation-key={uuid.uuid4()}", json={"params": ["x"]}, headers=AUTH)
    await assert_error(r, 400, "invocation key")


async def test_a_rejected_invocation_creates_no_worker(client):
    tid = await template(client, "counter")
    r = await client.post(f"/v1/templates/{tid}/workers/w/invoke-and-await?function={COUNTER}/nope",
                          json={"params": []}, headers=AUTH)
    await assert_error(r, 400)
    assert (await client.get(f"/v1/templates/{tid}/workers/w", headers=AUTH)).status == 404


async def test_bad_query_numbers_are_400(client):
    tid = await template(client, "counter")
    base = f"/v1/templates/{tid}/workers"
    assert (await client.post(base, json={"name": "w"}, headers=AUTH)).status == 200
    for query in ("from=0", "from=-1", "from=x", "from=1.5", "count=0", "count=-3", "count=ten", "count=",
                  "from=99999999999999999999999", "from=" + "9" * 5000,
                  # int() alone takes these; a client sending them has a bug to hear about.
                  "count=%2B5", "count=%205", "count=1_0", "count=%D9%A3"):
        await assert_error(await client.get(f"{base}/w/oplog?{query}", headers=AUTH), 400, query.split("=")[0])
    for query in ("count=0", "count=abc", "cursor=%21%21%21", "cursor=abc", "filter=bogus", "filter=version%20%3E%20x"):
        await assert_error(await client.get(f"{base}?{query}", headers=AUTH), 400)
    for query in ("version=-1", "version=v1"):
        await assert_error(await client.get(f"/v1/templates/{tid}/download?{query}", headers=AUTH), 400, "version")
    r = await client.post(f"{base}/w/interrupt?recover-immediately=maybe", headers=AUTH)
    await assert_error(r, 400, "recover-immediately")
    # A huge but well-formed `from` is simply past the end.
    log = await (await client.get(f"{base}/w/oplog?from=1000000&count=5", headers=AUTH)).json()
    assert log == {"entries": [], "next": None}


async def test_the_cursor_pages_through_workers(client):
    tid = await template(client, "counter")
    base = f"/v1/templates/{tid}/workers"
    for name in ("c", "a", "b"):
        assert (await client.post(base, json={"name": name}, headers=AUTH)).status == 200
    first = await (await client.get(f"{base}?count=2", headers=AUTH)).json()
    assert [w["workerId"]["workerName"] for w in first["workers"]] == ["a", "b"] and first["cursor"]
    second = await (await client.get(base, params={"count": 2, "cursor": first["cursor"]}, headers=AUTH)).json()
    assert [w["workerId"]["workerName"] for w in second["workers"]] == ["c"] and second["cursor"] is None


async def test_malformed_complete_bodies_are_400(client):
    tid = await template(client, "counter")
    url = f"/v1/templates/{tid}/workers/w/complete"
    assert (await client.post(f"/v1/templates/{tid}/workers", json={"name": "w"}, headers=AUTH)).status == 200
    for body in ({"oplogIdx": 1, "data": "text"}, {"oplogIdx": 1, "data": [256]}, {"oplogIdx": 1, "data": [-1]},
                 {"oplogIdx": 1, "data": [1.5]}, {"oplogIdx": 1, "data": [True]}, {"oplogIdx": 1, "data": {"0": 1}},
                 {"oplogIdx": 1}, {"data": [1]}, {"oplogIdx": "1", "data": [1]}, {"oplogIdx": 1, "data": [1], "x": 0},
                 [1, [1]], None):
        await assert_error(await client.post(url, json=body, headers=AUTH), 400)
    await assert_error(await client.post(url, data=b"", headers=AUTH), 400, "empty")


async def test_malformed_worker_ids_and_names_are_400(client):
    tid = await template(client, "counter")
    for wid in ("nodot", f"{tid}.", ".name", f"{tid}.-dash", f"{tid}.sp%20ace", f"{tid}." + "n" * 101):
        await assert_error(await client.get(f"/v1/templates/workers/{wid}", headers=AUTH), 400, "worker")
    base = f"/v1/templates/{tid}/workers"
    for name in ("-dash", "", "a b", "ü", "n" * 101, 7, None):
        await assert_error(await client.post(base, json={"name": name}, headers=AUTH), 400)
    await assert_error(await client.post(base, json={"name": "ok", "args": "a"}, headers=AUTH), 400)
    await assert_error(await client.post(base, json={"name": "ok", "env": [["k"]]}, headers=AUTH), 400)
    await assert_error(await client.post(base, json={"args": []}, headers=AUTH), 400, "name")
    r = await client.post(f"{base}/-dash/invoke-and-await?function={COUNTER}/get", json={"params": []}, headers=AUTH)
    await assert_error(r, 400, "worker name")
    assert (await client.post(base, json={"name": "n" * 100}, headers=AUTH)).status == 200


async def test_upload_errors_are_400(client):
    form = aiohttp.FormData()
    form.add_field("name", "only-a-name")
    await assert_error(await client.post("/v1/templates", data=form, headers=AUTH), 400, "template")
    r = await client.post("/v1/templates", json={"name": "x"}, headers=AUTH)
    await assert_error(r, 400, "multipart")
    await assert_error(await upload(client, "junk", b"not wasm"), 400)
    tid = await template(client, "counter")
    await assert_error(await client.put(f"/v1/templates/{tid}/upload", data=b"junk", headers=AUTH), 400)
    # Malformed multipart bodies are the client's fault, not a 500.
    for raw in (b'--b\r\nContent-Disposition: form-data; name="\x1c"\r\n\r\nx\r\n--b--\r\n',
                b"no boundary at all", b"--b\r\n"):
        r = await client.post("/v1/templates", data=raw,
                              headers={**AUTH, "Content-Type": "multipart/form-data; boundary=b"})
        await assert_error(r, 400)


async def test_connect_without_a_websocket_upgrade_is_400(client):
    tid = await template(client, "counter")
    assert (await client.post(f"/v1/templates/{tid}/workers", json={"name": "w"}, headers=AUTH)).status == 200
    await assert_error(await client.get(f"/v1/templates/{tid}/workers/w/connect", headers=AUTH), 400, "websocket")


# ---------------------------------------------------------------------- 404

async def test_unknown_templates_workers_and_endpoints_are_404(client):
    tid = await template(client, "counter")
    ghost = str(uuid.uuid4())
    for path in (f"/v1/templates/{ghost}", f"/v1/templates/{ghost}/latest", f"/v1/templates/{ghost}/download",
                 f"/v1/templates/{ghost}/workers", f"/v1/templates/workers/{ghost}.w",
                 f"/v1/templates/{tid}/download?version=7", "/v1/templates/not-a-uuid/latest"):
        await assert_error(await client.get(path, headers=AUTH), 404)
    await assert_error(await client.put(f"/v1/templates/{ghost}/upload", data=guest_bytes("counter"),
                                        headers=AUTH), 404)
    await assert_error(await client.post(f"/v1/templates/{ghost}/workers", json={"name": "w"}, headers=AUTH), 404)
    r = await client.post(f"/v1/templates/{ghost}/workers/w/invoke-and-await?function={COUNTER}/get",
                          json={"params": []}, headers=AUTH)
    await assert_error(r, 404)

    w = f"/v1/templates/{tid}/workers/nobody"
    for method, path in (("GET", w), ("DELETE", w), ("POST", w + "/interrupt"), ("POST", w + "/resume"),
                         ("GET", w + "/oplog"), ("GET", w + "/connect"), ("GET", f"/v1/templates/workers/{tid}.nobody")):
        await assert_error(await client.request(method, path, headers=AUTH), 404)
    r = await client.post(w + "/complete", json={"oplogIdx": 1, "data": []}, headers=AUTH)
    await assert_error(r, 404)

    for method, path in (("GET", "/v1/nothing"), ("GET", "/"), ("POST", "/v1/templates/x/y/z"),
                         ("GET", f"/v1/templates/{tid}/workers/w/unknown-action")):
        await assert_error(await client.request(method, path, headers=AUTH), 404, "no such endpoint")
    await assert_error(await client.delete("/v1/templates", headers=AUTH), 405)


# ---------------------------------------------------------------------- 401

def every_route(app) -> list[tuple[str, str]]:
    out = []
    for route in app.router.routes():
        info = route.resource.get_info()
        path = info.get("path") or info.get("formatter")
        if route.method == "HEAD" or not path.startswith("/v1"):
            continue
        path = re.sub(r"\{workerId\}", f"{uuid.uuid4()}.w", path)
        path = re.sub(r"\{\w+\}", "w", path)
        out.append((route.method, path))
    return out


async def test_every_v1_endpoint_needs_a_known_token(client):
    routes = every_route(client.server.app)
    assert len(routes) == 19  # the rows of SPEC §3 and §4
    for method, path in routes:
        await assert_error(await client.request(method, path), 401)
        await assert_error(await client.request(method, path, headers={"Authorization": "Bearer wrong"}), 401,
                           "unknown")
        await assert_error(await client.request(method, path, headers={"Authorization": TOKEN}), 401)
        await assert_error(await client.request(method, path, headers={"Authorization": "Basic " + TOKEN}), 401)
    # The open endpoints stay open.
    for path in ("/healthz", "/metrics", "/openapi.json"):
        assert (await client.get(path)).status == 200
