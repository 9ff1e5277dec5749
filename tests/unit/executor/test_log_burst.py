"""LogBurst: invocations of several workers share one batch; callers hear only once it is durable."""

from __future__ import annotations

import asyncio
import threading

import pytest

from executor.inbox import LoopInbox
from executor.worker_log import LogBurst, WorkerLog
from oplog import NoOp, OplogStore
from tests.helpers import block_writer


@pytest.fixture
def inbox():
    """A real loop inbox; its loop runs on a thread of its own, so the burst posts to it
    from another thread, as guest threads post to the executor's loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield LoopInbox(loop)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


class Answers(list):
    """Callback results, and an event set once `expected` of them have arrived."""

    def __init__(self, expected: int):
        super().__init__()
        self.expected = expected
        self.all_in = threading.Event()

    def add(self, item) -> None:
        self.append(item)
        if len(self) == self.expected:
            self.all_in.set()


@pytest.fixture
def store(tmp_path):
    s = OplogStore(tmp_path / "oplog", durability="none")
    yield s
    s.close()


def _log(store: OplogStore, key: str) -> WorkerLog:
    batch = store.batch()
    batch.create_log(key)
    store.submit(batch).wait()
    return WorkerLog(store, key)


def _entry(n: int) -> NoOp:
    return NoOp(timestamp=n)


def test_entries_of_several_logs_go_out_in_one_batch_and_answer_after_the_commit(store, inbox, monkeypatch):
    logs = [_log(store, f"t/w{i}") for i in range(3)]
    burst = LogBurst(store)
    answered = Answers(3)
    for i, wlog in enumerate(logs):
        wlog.hold(burst)
        wlog.append(_entry(i))
        wlog.append(_entry(i + 10))
        assert wlog.release() is None  # the burst submits, not the log
        burst.after_commit(inbox, lambda err, n: answered.add((n, err)), i)
    batches_before = store.stats["batches"]
    release = block_writer(store, monkeypatch)
    burst.flush()
    assert answered == []  # submitted, not durable yet
    release()
    assert answered.all_in.wait(10)
    assert sorted(answered) == [(0, None), (1, None), (2, None)]
    assert store.stats["batches"] == batches_before + 2  # the writer's barrier, and one for the burst
    for i, wlog in enumerate(logs):
        assert [e.timestamp for _, e in store.read(wlog.key)] == [i, i + 10]


def test_a_caller_whose_entries_another_thread_submitted_still_waits_for_their_commit(store, inbox, monkeypatch):
    wlog = _log(store, "t/w")
    burst = LogBurst(store)
    release = block_writer(store, monkeypatch)
    wlog.hold(burst)
    wlog.append(_entry(1))
    wlog.release()
    # Another thread needs this worker's entries durable: its log submits the burst.
    other = threading.Thread(target=lambda: wlog.delete("keys", "k"))
    other.start()
    other.join(10)
    assert burst.batch is None  # submitted (not yet durable: the writer is paused)
    answered = Answers(1)
    burst.after_commit(inbox, lambda err: answered.add(err))
    burst.flush()  # nothing left to submit: the callback rides on the earlier commit
    assert answered == []
    release()
    assert answered.all_in.wait(10)
    assert answered == [None]
    store.flush()
    assert [e.timestamp for _, e in store.read("t/w")] == [1]


def test_appends_from_another_thread_come_after_what_the_burst_holds(store):
    wlog = _log(store, "t/w")
    burst = LogBurst(store)
    wlog.hold(burst)
    first = wlog.append(_entry(1))
    # A different thread appends to the same worker while the guest still holds it.
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("idx", wlog.append(_entry(2))))
    t.start()
    t.join(10)
    second = wlog.append(_entry(3))
    wlog.release()
    burst.flush()
    store.flush()
    assert (first, out["idx"], second) == (first, first + 1, first + 2)
    assert [e.timestamp for _, e in store.read("t/w")] == [1, 2, 3]
