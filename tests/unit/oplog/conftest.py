"""Fixtures shared by the oplog unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from oplog import OplogStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[OplogStore]:
    s = OplogStore(tmp_path / "db")
    yield s
    s.close()
