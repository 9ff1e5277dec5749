"""Between deletes, a commit round writes each table in one go; the outcome is
that of applying the batches one op at a time, in submission order."""

from __future__ import annotations

from _oplog_helpers import new_log

from oplog import InvocationKeyRecord, NoOp
from tests.helpers import block_writer


def _key(state: str, idx=None) -> InvocationKeyRecord:
    return InvocationKeyRecord(template_id="t", worker_name="w", state=state, completed_idx=idx)


def test_interleaved_puts_to_several_tables_in_one_round(store, monkeypatch):
    new_log(store, "t/a")
    new_log(store, "t/b")
    release = block_writer(store, monkeypatch)  # the three batches below share one round
    commits = []
    for round_ in range(3):  # three batches, each: an append, a row, an append, the row again
        b = store.batch()
        b.append("t/a", NoOp(timestamp=round_))
        b.put("keys", "k1", _key("pending"))
        b.append("t/b", NoOp(timestamp=round_ + 10))
        b.put("keys", "k1", _key("complete", round_))
        b.put("keys", f"only-{round_}", _key("created"))
        commits.append(store.submit(b))
    release()
    for c in commits:
        c.wait(10)
    assert store.stats["commits"] >= 1
    assert store.get("keys", "k1") == _key("complete", 2)  # the last put of the key wins
    assert [store.get("keys", f"only-{i}") for i in range(3)] == [_key("created")] * 3
    assert [e.timestamp for _, e in store.read("t/a")][-3:] == [0, 1, 2]
    assert [e.timestamp for _, e in store.read("t/b")][-3:] == [10, 11, 12]


def test_a_delete_in_the_round_keeps_the_order_of_every_op(store):
    b = store.batch()
    b.put("keys", "k", _key("created"))
    b.delete("keys", "k")
    b.put("keys", "k2", _key("created"))
    store.submit(b).wait(10)
    assert store.get("keys", "k") is None
    assert store.get("keys", "k2") == _key("created")
