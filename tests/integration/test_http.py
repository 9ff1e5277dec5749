"""The HTTP API through aiohttp's test client: every endpoint and its errors."""

from __future__ import annotations

import re

import aiohttp
import pytest
from wasmtime import wat2wasm

from api.app import create_app
from executor import Accounts
from tests.helpers import guest_bytes

TOKEN = "test-token-default"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CART = "golem:it/api"


@pytest.fixture
async def client(harness, aiohttp_client):
    accounts = Accounts(harness.ex.store)
    accounts.create("default", TOKEN)
    app = create_app(harness.ex, invoke_timeout=5, max_body_bytes=1 << 20)
    return await aiohttp_client(app)


async def upload(client, name: str, wasm: bytes | None = None):
    form = aiohttp.FormData()
    form.add_field("name", name)
    form.add_field("template", wasm if wasm is not None else guest_bytes(name), filename=f"{name}.wasm")
    return await client.post("/v1/templates", data=form, headers=AUTH)


async def test_auth_is_required(client):
    r = await client.get("/v1/templates")
    assert r.status == 401 and "error" in await r.json()
    r = await client.get("/v1/templates", headers={"Authorization": "Bearer nope"})
    assert r.status == 401
    assert (await client.get("/healthz")).status == 200


async def test_template_lifecycle(client):
    r = await upload(client, "counter")
    assert r.status == 200
    t = await r.json()
    tid = t["versionedTemplateId"]["rawTemplateId"]
    assert t["versionedTemplateId"]["version"] == 0 and t["templateName"] == "counter"
    assert t["templateSize"] == len(guest_bytes("counter"))
    iface = t["metadata"]["exports"][0]
    assert iface["type"] == "Instance" and iface["name"] == "golemite:counter/api"
    assert {f["name"] for f in iface["functions"]} >= {"increment", "echo"}
    r = await client.put(f"/v1/templates/{tid}/upload", data=guest_bytes("counter"), headers=AUTH)
    assert (await r.json())["versionedTemplateId"]["version"] == 1
    assert len(await (await client.get(f"/v1/templates/{tid}", headers=AUTH)).json()) == 2
    latest = await (await client.get(f"/v1/templates/{tid}/latest", headers=AUTH)).json()
    assert latest["versionedTemplateId"]["version"] == 1
    listed = await (await client.get("/v1/templates?template-name=counter", headers=AUTH)).json()
    assert [x["versionedTemplateId"]["rawTemplateId"] for x in listed] == [tid]
    r = await client.get(f"/v1/templates/{tid}/download?version=0", headers=AUTH)
    assert await r.read() == guest_bytes("counter")


async def test_broken_wasm_is_rejected_and_nothing_stored(client):
    r = await upload(client, "broken", b"\0asm\x01\0\0\0garbage")
    assert r.status == 400
    assert "not a valid WebAssembly component" in (await r.json())["errors"][0]
    r = await upload(client, "text", b"hello")
    assert r.status == 400
    assert await (await client.get("/v1/templates", headers=AUTH)).json() == []


@pytest.mark.parametrize(("fields", "message"), [
    ((("name", "c"), ("template", "wasm"), ("version", "2")), "unknown form field 'version'"),
    ((("nmae", "c"), ("template", "wasm")), "unknown form field 'nmae'"),
    ((("name", "c"), ("template", "wasm"), ("template", "wasm")), "form field 'template' sent twice"),
])
async def test_an_upload_with_an_unknown_or_repeated_field_is_refused(client, fields, message):
    form = aiohttp.FormData()
    for field, value in fields:
        if value == "wasm":
            form.add_field(field, guest_bytes("counter"), filename="counter.wasm")
        else:
            form.add_field(field, value)
    r = await client.post("/v1/templates", data=form, headers=AUTH)
    assert r.status == 400
    [error] = (await r.json())["errors"]
    assert error.startswith(message)
    assert await (await client.get("/v1/templates", headers=AUTH)).json() == []


async def test_a_component_importing_what_golemite_lacks_is_refused_at_upload(client):
    # A valid component, but wasi:http is not provided: refused with the import's name,
    # for a new template and for a new version alike, and nothing is stored.
    http_client = wat2wasm('(component (import "wasi:http/outgoing-handler@0.2.0" '
                           '(instance (export "handle" (func)))))')
    r = await upload(client, "http-client", http_client)
    assert r.status == 400
    [message] = (await r.json())["errors"]
    assert "wasi:http/outgoing-handler@0.2.0" in message and "does not provide" in message
    assert await (await client.get("/v1/templates", headers=AUTH)).json() == []
    tid = (await (await upload(client, "counter")).json())["versionedTemplateId"]["rawTemplateId"]
    r = await client.put(f"/v1/templates/{tid}/upload", data=http_client, headers=AUTH)
    assert r.status == 400 and "wasi:http" in (await r.json())["errors"][0]
    assert len(await (await client.get(f"/v1/templates/{tid}", headers=AUTH)).json()) == 1
    # A newer WASI 0.2 patch release links (wasmtime matches 0.2.x); WASI 0.3 does not.
    env = '(instance (export "get-environment" (func (result (list (tuple string string))))))'
    assert (await upload(client, "newer-wasi", wat2wasm(
        f'(component (import "wasi:cli/environment@0.2.99" {env}))'))).status == 200
    r = await upload(client, "wasi-0-3", wat2wasm(f'(component (import "wasi:cli/environment@0.3.0" {env}))'))
    assert r.status == 400 and "wasi:cli/environment@0.3.0" in (await r.json())["errors"][0]


async def test_worker_endpoints(client):
    tid = (await (await upload(client, "shopping-cart")).json())["versionedTemplateId"]["rawTemplateId"]
    base = f"/v1/templates/{tid}/workers"
    r = await client.post(base, json={"name": "w1", "args": ["a"], "env": [["K", "V"]]}, headers=AUTH)
    assert r.status == 200
    assert await r.json() == {"workerId": {"rawTemplateId": tid, "workerName": "w1"}, "templateVersionUsed": 0}
    assert (await client.post(base, json={"name": "w1"}, headers=AUTH)).status == 409
    assert (await client.post(base, json={"name": "-bad"}, headers=AUTH)).status == 400
    assert (await client.post(base, data=b"{not json", headers=AUTH)).status == 400
    assert (await client.post(base, json={"name": "x", "bogus": 1}, headers=AUTH)).status == 400
    r = await client.get(f"/v1/templates/workers/{tid}.w1", headers=AUTH)
    assert (await r.json())["workerId"]["workerName"] == "w1"
    meta = await (await client.get(f"{base}/w1", headers=AUTH)).json()
    assert meta["status"] == "Idle" and meta["env"] == {"K": "V"} and meta["args"] == ["a"]
    assert meta["retryCount"] == 0 and meta["accountId"] == "default"

    r = await client.post(f"{base}/w1/invoke-and-await?function={CART}/initialize-cart",
                          json={"params": ["u1"]}, headers=AUTH)
    assert r.status == 200 and await r.json() == {"result": []}
    r = await client.post(f"{base}/w1/invoke-and-await?function={CART}/add-item",
                          json={"params": [{"product-id": "p", "name": "n", "price": "x", "quantity": 1}]}, headers=AUTH)
    assert r.status == 400 and "price" in (await r.json())["errors"][0]
    key = (await (await client.post(f"{base}/w1/key", headers=AUTH)).json())["value"]
    item = {"product-id": "p", "name": "n", "price": 2.5, "quantity": 1}
    for _ in range(2):
        r = await client.post(f"{base}/w1/invoke-and-await?function={CART}/add-item&invocation-key={key}",
                              json={"params": [item]}, headers=AUTH)
        assert r.status == 200
    r = await client.post(f"{base}/w1/invoke-and-await?function={CART}/get-cart-contents",
                          json={"params": []}, headers=AUTH)
    assert await r.json() == {"result": [[item]]}
    r = await client.post(f"{base}/w1/invoke?function={CART}/remove-item", json={"params": ["p"]}, headers=AUTH)
    assert r.status == 200 and await r.json() == {}
    r = await client.post(f"{base}/w1/invoke-and-await?function={CART}/get-cart-contents",
                          json={"params": []}, headers=AUTH)
    assert await r.json() == {"result": [[]]}  # the queued remove-item ran first

    page = await (await client.get(f"{base}?filter=name%20like%20w%25&count=10", headers=AUTH)).json()
    assert [w["workerId"]["workerName"] for w in page["workers"]] == ["w1"]
    assert (await client.get(f"{base}?filter=bogus", headers=AUTH)).status == 400
    log = await (await client.get(f"{base}/w1/oplog?from=1&count=2", headers=AUTH)).json()
    assert log["entries"][0]["type"] == "Create" and log["entries"][0]["oplogIdx"] == 1
    assert log["next"] == 3
    assert await (await client.post(f"{base}/w1/interrupt", headers=AUTH)).json() is False
    r = await client.post(f"{base}/w1/complete", json={"oplogIdx": 999, "data": [1]}, headers=AUTH)
    assert r.status == 404
    for idx in (0, -1):  # no oplog index at all: the request is wrong, not the worker's state
        r = await client.post(f"{base}/w1/complete", json={"oplogIdx": idx, "data": [1]}, headers=AUTH)
        assert r.status == 400 and "oplogIdx" in (await r.json())["errors"][0]
    assert (await client.delete(f"{base}/w1", headers=AUTH)).status == 200
    assert (await client.get(f"{base}/w1", headers=AUTH)).status == 404
    assert (await client.post(base, json={"name": "w1"}, headers=AUTH)).status == 200


async def test_other_account_sees_nothing(client, harness):
    tid = (await (await upload(client, "counter")).json())["versionedTemplateId"]["rawTemplateId"]
    _, other = Accounts(harness.ex.store).create("other")
    h2 = {"Authorization": f"Bearer {other}"}
    assert (await client.get(f"/v1/templates/{tid}/latest", headers=h2)).status == 404
    r = await client.post(f"/v1/templates/{tid}/workers/w/invoke-and-await?function=golemite:counter/api/increment",
                          json={"params": []}, headers=h2)
    assert r.status == 404


async def test_openapi_document_lists_the_api(client):
    doc = await (await client.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.") and "/v1/templates/{templateId}/workers/{workerName}/invoke-and-await" in doc["paths"]


def _exposition(text: str) -> tuple[dict[str, float], dict[str, tuple[str, str]]]:
    """Samples by name (labels included) and (type, help) by metric, from Prometheus text."""
    samples: dict[str, float] = {}
    described: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        if line.startswith("# "):
            _hash, kind, name, rest = line.split(" ", 3)
            described.setdefault(name, {})[kind] = rest
        elif line:
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples, {name: (d.get("TYPE", ""), d.get("HELP", "")) for name, d in described.items()}


async def test_metrics_count_what_happened_in_prometheus_text_format(client, harness):
    tid = (await (await upload(client, "counter")).json())["versionedTemplateId"]["rawTemplateId"]

    async def increment() -> None:
        r = await client.post(f"/v1/templates/{tid}/workers/m/invoke-and-await?function=golemite:counter/api/increment",
                              json={"params": []}, headers=AUTH)
        assert r.status == 200

    for _ in range(3):
        await increment()
    assert (await client.get("/v1/templates/nope/workers/m", headers=AUTH)).status == 404
    r = await client.get("/metrics")
    assert r.status == 200 and r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples, described = _exposition(await r.text())
    assert samples['golemite_http_requests_total{status="200"}'] == 4  # the upload and three calls
    assert samples['golemite_http_requests_total{status="404"}'] == 1
    assert samples["golemite_invocations_total"] == 3
    assert samples["golemite_live_workers"] == 1
    assert samples["golemite_oplog_logs_in_memory"] == 1
    assert samples["golemite_oplog_entries_total"] >= 6  # each call's invocation and completion
    assert samples["golemite_oplog_commits_total"] >= 1
    assert samples["golemite_replays_total"] == 1  # the new worker's first instance
    # Every request answered before this one is in the duration histogram, in the bucket
    # of its time: the upload, three calls and the 404.
    duration = "golemite_http_request_duration_seconds"
    buckets = [(k, v) for k, v in samples.items() if k.startswith(duration + "_bucket")]
    assert buckets[-1] == (duration + '_bucket{le="+Inf"}', 5) and samples[duration + "_count"] == 5
    assert [v for _, v in buckets] == sorted(v for _, v in buckets) and samples[duration + "_sum"] > 0
    (worker,) = harness.ex.workers.values()
    worker.drop_instance()  # evicted: the next call rebuilds it from its oplog
    await increment()
    samples, described = _exposition(await (await client.get("/metrics")).text())
    assert samples["golemite_replays_total"] == 2 and samples["golemite_replay_seconds_total"] > 0
    assert samples["golemite_invocations_total"] == 4
    # Every metric is described, with the type its name fits.
    families = {re.sub(r"_(bucket|sum|count)$", "", name.partition("{")[0]) for name in samples}
    assert families == set(described)
    for name, (kind, help_text) in described.items():
        expected = "counter" if name.endswith("_total") else "histogram" if name.endswith("_seconds") else "gauge"
        assert help_text and kind == expected, name


async def test_connect_streams_stdout_and_closes_on_delete(client):
    tid = (await (await upload(client, "shopping-cart")).json())["versionedTemplateId"]["rawTemplateId"]
    base = f"/v1/templates/{tid}/workers"
    assert (await client.post(base, json={"name": "s"}, headers=AUTH)).status == 200
    ws = await client.ws_connect(f"{base}/s/connect", headers=AUTH)
    r = await client.post(f"{base}/s/invoke-and-await?function={CART}/initialize-cart",
                          json={"params": ["u7"]}, headers=AUTH)
    assert r.status == 200
    msg = await ws.receive_json(timeout=5)
    assert "u7" in msg["stdout"]["message"]
    assert (await client.delete(f"{base}/s", headers=AUTH)).status == 200
    closed = await ws.receive(timeout=5)
    assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    # A normal close, saying why: the daemon stopping closes with 1001 (going away) instead.
    assert ws.close_code == aiohttp.WSCloseCode.OK and closed.extra == "the worker was deleted"
    await ws.close()


async def test_connect_streams_wasi_logging_as_log_events_once(client, harness):
    tid = (await (await upload(client, "logging")).json())["versionedTemplateId"]["rawTemplateId"]
    base = f"/v1/templates/{tid}/workers"
    assert (await client.post(base, json={"name": "l"}, headers=AUTH)).status == 200
    ws = await client.ws_connect(f"{base}/l/connect", headers=AUTH)
    r = await client.post(f"{base}/l/invoke-and-await?function=golemite:logging/api/say",
                          json={"params": [4, "boom"]}, headers=AUTH)
    assert await r.json() == {"result": [1]}
    assert await ws.receive_json(timeout=5) == {"log": {"level": "error", "context": "logging-guest",
                                                        "message": "boom"}}
    # Rebuilt by replay: the recorded log call is not sent again.
    harness.ex.get_worker("default", tid, "l").drop_instance()
    r = await client.post(f"{base}/l/invoke-and-await?function=golemite:logging/api/say",
                          json={"params": [2, "again"]}, headers=AUTH)
    assert await r.json() == {"result": [2]}
    assert (await ws.receive_json(timeout=5))["log"]["message"] == "again"
    await ws.close()


@pytest.mark.parametrize("endpoint", ["invoke-and-await", "invoke"])
@pytest.mark.parametrize(("body", "named"), [({"parms": []}, "parms"), ({}, "params"),
                                             ({"params": [], "extra": 1}, "extra")])
async def test_an_invoke_body_with_a_misspelt_missing_or_extra_key_is_refused_and_runs_nothing(
        client, endpoint, body, named):
    tid = (await (await upload(client, "counter")).json())["versionedTemplateId"]["rawTemplateId"]
    base = f"/v1/templates/{tid}/workers"
    url = f"{base}/c/{endpoint}?function=golemite:counter/api/increment"
    r = await client.post(url, json=body, headers=AUTH)
    assert r.status == 400 and named in (await r.json())["errors"][0]
    assert (await client.get(f"{base}/c", headers=AUTH)).status == 404  # not even created
    r = await client.post(f"{base}/c/invoke-and-await?function=golemite:counter/api/increment",
                          json={"params": []}, headers=AUTH)
    assert await r.json() == {"result": [1]}  # the refused call never ran


@pytest.mark.parametrize(("body", "message"), [
    ({"name": "e", "env": [["A", "1"], ["A", "2"]]}, "env variable 'A' given twice"),
    ({"name": "e", "env": [["A=B", "1"]]}, "env variable name 'A=B' must be non-empty"),
    ({"name": "e", "env": {"": "1"}}, "env variable name '' must be non-empty"),
    ({"name": "e", "env": {"A": "x\u0000y"}}, "env variable 'A' must not contain NUL"),
    ({"name": "e", "args": ["a\u0000b"]}, "worker args must not contain NUL"),
])
async def test_args_and_env_a_guest_could_not_see_as_given_are_refused(client, body, message):
    tid = (await (await upload(client, "counter")).json())["versionedTemplateId"]["rawTemplateId"]
    base = f"/v1/templates/{tid}/workers"
    r = await client.post(base, json=body, headers=AUTH)
    assert r.status == 400
    [error] = (await r.json())["errors"]
    assert error.startswith(message)
    assert (await client.get(f"{base}/e", headers=AUTH)).status == 404  # nothing created
