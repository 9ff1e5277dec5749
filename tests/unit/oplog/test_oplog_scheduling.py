"""Helper threads: the writer's scheduling policy, and the names the OS knows them by."""

from __future__ import annotations

import os
import threading

import pytest

from oplog import OplogStore, prepare_helper_thread
from oplog.scheduling import os_thread_name

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


def _os_name(thread: threading.Thread) -> str:
    with open(f"/proc/self/task/{thread.native_id}/comm") as f:
        return f.read().strip()


@pytest.mark.parametrize(("name", "expected"), [
    ("oplog-writer", b"oplog-writer"),
    ("golemite-epoch", b"golemite-epoch"),
    ("golemite-guest-12", b"guest-12"),  # too long: the common prefix goes, the number stays
    ("a-very-long-thread-name", b"a-very-long-thr"),
])
def test_os_thread_names_keep_what_tells_threads_apart(name, expected):
    assert os_thread_name(name) == expected


@linux_only
def test_helper_threads_are_named_for_the_os(tmp_path):
    with OplogStore(tmp_path / "s", durability="none") as store:
        _writer_policy(store)  # the writer has started and committed
        writers = [t for t in threading.enumerate() if t.name == "oplog-writer"]
        assert [_os_name(t) for t in writers] == ["oplog-writer"]
    seen: list[str] = []
    helper = threading.Thread(target=lambda: (prepare_helper_thread("normal"), seen.append(
        _os_name(threading.current_thread()))), name="golemite-guest-3")
    helper.start()
    helper.join()
    assert seen == ["guest-3"]
    assert _os_name(threading.main_thread()) != "guest-3"  # the caller's own thread is left alone
