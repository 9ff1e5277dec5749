"""The hot path's modules type-check cleanly under mypy.

They are the ones to compile with mypyc next (benchmarks/README.md), and a compiled
module checks its annotations at run time: a wrong one there is a TypeError in
production, not a lint warning. Their imports are checked only as far as these
modules use them (`--follow-imports=silent`); add a module here once it is clean.
"""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT

TYPED_MODULES = [
    "oplog/batch.py", "oplog/commit.py", "oplog/recent.py", "oplog/store.py", "oplog/writer.py",
    "executor/guest_pool.py", "executor/inbox.py", "executor/worker_log.py", "executor/host/cursor.py",
]


def test_the_hot_path_modules_type_check(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "--cache-dir", str(tmp_path / "cache"),
         *TYPED_MODULES], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
