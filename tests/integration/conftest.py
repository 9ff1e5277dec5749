from __future__ import annotations

import pytest

from executor import DEFAULT_ACCOUNT, Executor, ExecutorConfig
from tests.helpers import guest_bytes


class Harness:
    """An executor in a temp dir, plus helpers to upload guests and reopen after a 'crash'."""

    def __init__(self, path, config: ExecutorConfig | None = None):
        self.path = path
        self.config = config or ExecutorConfig(short_sleep_ns=300_000_000)
        self.ex: Executor | None = None

    async def open(self) -> Executor:
        self.ex = Executor(self.path, config=self.config)
        await self.ex.start()
        return self.ex

    async def reopen(self) -> Executor:
        await self.ex.close()
        return await self.open()

    async def template(self, name: str) -> str:
        record, _ = await self.ex.templates.add(DEFAULT_ACCOUNT, name, guest_bytes(name))
        return record.template_id

    async def call(self, tid: str, worker: str, function: str, params=None, **kw):
        return await self.ex.invoke_and_await(DEFAULT_ACCOUNT, tid, worker, function, params or [], **kw)


@pytest.fixture
async def harness(tmp_path):
    h = Harness(tmp_path / "data")
    await h.open()
    yield h
    await h.ex.close()


@pytest.fixture
async def configured(tmp_path):
    """`await configured(max_live_workers=3)`: a harness with other executor settings, closed after the test."""
    opened: list[Harness] = []

    async def make(**settings) -> Harness:
        h = Harness(tmp_path / f"data{len(opened)}", ExecutorConfig(**{"short_sleep_ns": 300_000_000, **settings}))
        await h.open()
        opened.append(h)
        return h
    yield make
    for h in opened:
        await h.ex.close()
