"""Fixtures shared by the oplog unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from oplog import Create, OplogStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[OplogStore]:
    s = OplogStore(tmp_path / "db")
    yield s
    s.close()


def create_entry(worker_key: str, timestamp: int = 1) -> Create:
    """The Create entry a worker's log starts with, for a `template/name` worker key."""
    template_id, _, name = worker_key.partition("/")
    return Create(
        timestamp=timestamp,
        template_id=template_id,
        template_version=0,
        worker_name=name,
        account_id="acc",
    )


def new_log(store: OplogStore, worker_key: str) -> None:
    """Create a log with its Create entry and wait until it is durable."""
    b = store.batch()
    b.create_log(worker_key)
    b.append(worker_key, create_entry(worker_key))
    store.submit(b).wait(10)
