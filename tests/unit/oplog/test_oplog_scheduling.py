"""The writer thread's scheduling policy (see oplog/scheduling.py)."""

from __future__ import annotations

import os
import threading

import pytest

from oplog import OplogStore

linux_only = pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="SCHED_BATCH is Linux's")


def _writer_policy(store: OplogStore) -> int:
    seen: list[int] = []
    done = threading.Event()
    batch = store.batch()
    batch.create_log("w")
    commit = store.submit(batch)
    commit.add_done_callback(lambda _err: (seen.append(os.sched_getscheduler(0)), done.set()))
    assert done.wait(10)
    return seen[0]


@linux_only
@pytest.mark.parametrize(("policy", "expected"), [("batch", "SCHED_BATCH"), ("normal", "SCHED_OTHER")])
def test_the_writer_thread_runs_under_the_chosen_policy(tmp_path, policy, expected):
    with OplogStore(tmp_path / "s", durability="none", thread_policy=policy) as store:
        assert _writer_policy(store) == getattr(os, expected)
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the caller's own thread is left alone


def test_an_unknown_policy_is_refused_before_anything_is_opened(tmp_path):
    with pytest.raises(ValueError, match="unknown thread policy 'idle'; use one of batch, normal"):
        OplogStore(tmp_path / "s", thread_policy="idle")
    assert not (tmp_path / "s").exists()
