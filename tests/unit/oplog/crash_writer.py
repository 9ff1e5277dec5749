"""Writer process for test_oplog_crash.py: appends forever, reports what is durable.

Run as `python crash_writer.py DB_DIR`. Each entry's content is a function of
its worker and index (`expected_entry`), so a reader can check any stored
entry. A line "<worker> <index>" is printed only after the commit holding that
entry returned, i.e. once it is durable.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from oplog import Create, Entry, ImportedFunctionInvoked, OplogStore  # noqa: E402

WORKERS = ["crash/a", "crash/b", "crash/c"]


def expected_entry(worker_key: str, index: int) -> Entry:
    if index == 1:
        template_id, _, name = worker_key.partition("/")
        return Create(timestamp=1, template_id=template_id, template_version=0, worker_name=name, account_id="acc")
    return ImportedFunctionInvoked(
        timestamp=index,
        function=f"{worker_key}#{index}",
        response={"worker": worker_key, "index": index, "pad": "x" * (index * 7 % 301)},
        kind="write-local",
    )


def main(path: str) -> None:
    # A small recent table: kills also land while its entries move into the logs.
    store = OplogStore(path, durability="sync", recent_limit=50)
    out = sys.stdout
    for wk in WORKERS:
        if not store.log_exists(wk):
            b = store.batch()
            b.create_log(wk)
            b.append(wk, expected_entry(wk, 1))
            store.submit(b).wait()
            out.write(f"{wk} 1\n")
    out.flush()
    n = 0
    while True:
        pending = []
        for k, wk in enumerate(WORKERS):
            b = store.batch()
            indexes = []
            for _ in range(1 + (n + k) % 3):
                index = store.last_index(wk) + 1
                assert b.append(wk, expected_entry(wk, index)) == index
                indexes.append(index)
            pending.append((store.submit(b), wk, indexes))
        for commit, wk, indexes in pending:
            commit.wait()
            out.write("".join(f"{wk} {i}\n" for i in indexes))
        out.flush()
        n += 1


if __name__ == "__main__":
    main(sys.argv[1])
