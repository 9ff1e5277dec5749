"""The compiled hot modules type-check cleanly under mypy.

A module compiled with mypyc (oplog/native.py) checks its annotations at run time: a
wrong one there is a TypeError in production, not a lint warning. Their imports are
checked only as far as these modules use them (`--follow-imports=silent`), as the build
checks them.
"""

from __future__ import annotations

import subprocess
import sys

from oplog.native import COMPILED
from tests.helpers import ROOT

TYPED_MODULES = [m.replace(".", "/") + ".py" for m in COMPILED]


def test_the_hot_path_modules_type_check(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "--cache-dir", str(tmp_path / "cache"),
         *TYPED_MODULES], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
