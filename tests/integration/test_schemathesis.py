"""Schemathesis against our own /openapi.json: no 5xx, and every answer matches the document.

The app runs in-process on a loopback port; schemathesis (synchronous, through requests)
runs in a worker thread so the event loop stays free to serve it. Path parameters are
drawn both from the schema and from a real template and worker, so the fuzzing reaches
past the 404s into the handlers.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis comes with the test extra: pip install -e '.[test]'")

import requests  # noqa: E402 - schemathesis brings it
from aiohttp import web
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from api.app import create_app
from executor import DEFAULT_ACCOUNT, Accounts, Executor, ExecutorConfig
from tests.helpers import guest_bytes

TOKEN = "fuzz-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLES = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
async def server(tmp_path):
    ex = Executor(tmp_path / "data", config=ExecutorConfig(short_sleep_ns=300_000_000, max_workers_per_account=200))
    await ex.start()
    Accounts(ex.store).create(DEFAULT_ACCOUNT, TOKEN)
    record, _ = await ex.templates.add(DEFAULT_ACCOUNT, "counter", guest_bytes("counter"))
    await ex.create_worker(DEFAULT_ACCOUNT, record.template_id, "known")
    app = create_app(ex, invoke_timeout=5, max_body_bytes=1 << 20)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}", record.template_id
    await runner.cleanup()
    await ex.close()


def steer(case, template_id: str) -> None:
    """Point a generated case at things that exist, so it gets past the 404s and 400s."""
    known = {"templateId": template_id, "workerName": "known", "workerId": f"{template_id}.known"}
    if case.path_parameters:
        case.path_parameters = {k: known.get(k, v) for k, v in case.path_parameters.items()}
    if isinstance(case.query, dict) and "function" in case.query:
        case.query["function"] = "golemite:counter/api/increment"
        case.query.pop("invocation-key", None)
        if isinstance(case.body, dict):
            case.body = {**case.body, "params": []}
    if isinstance(case.body, dict) and "template" in case.body:
        case.body = {**case.body, "template": guest_bytes("counter")}
    elif case.operation.path.endswith("/upload"):
        case.body = guest_bytes("counter")


def fuzz(base_url: str, template_id: str) -> tuple[list[str], dict[str, Counter]]:
    """Run every operation; return one line per failure and the statuses seen per operation."""
    doc = requests.get(base_url + "/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(doc)
    failures: list[str] = []
    statuses: dict[str, Counter] = defaultdict(Counter)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 19, "one operation per row of SPEC §3 and §4"
    session = requests.Session()
    for op in operations:
        strategy = st.one_of(op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE))

        @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy, use_known=st.booleans())
        def run(case, use_known: bool) -> None:
            if use_known:
                steer(case, template_id)
            response = case.call(base_url=base_url, session=session, headers=AUTH, timeout=30)
            statuses[op.label][response.status_code] += 1
            case.validate_response(response, checks=CHECKS, headers=AUTH)

        try:
            run()
        except (Exception, BaseExceptionGroup) as e:  # noqa: BLE001 - collected so one run reports every operation
            failures.append(f"{op.label}: {type(e).__name__}: {str(e)[:1500]}")
    session.close()
    return failures, statuses


async def test_schemathesis_finds_no_server_errors_or_schema_mismatches(server):
    base_url, template_id = server
    failures, statuses = await asyncio.to_thread(fuzz, base_url, template_id)
    assert not failures, "\n".join(failures)
    # The fuzzing must reach the handlers, not just bounce off authentication and lookups.
    reached = {label for label, seen in statuses.items() if any(200 <= code < 300 for code in seen)}
    assert len(reached) >= 14, statuses
    assert all(set(seen) - {401} for seen in statuses.values()), statuses
