"""oplog sits at the bottom: it imports neither wasmtime nor aiohttp nor the layers above it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FORBIDDEN = ("wasmtime", "aiohttp", "executor", "api")


def test_importing_oplog_loads_no_upper_layer():
    code = "import json, sys, oplog; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    loaded = json.loads(out)
    assert "oplog.store" in loaded
    bad = [m for m in loaded if m.split(".")[0] in FORBIDDEN]
    assert bad == []


def test_no_source_file_names_an_upper_layer():
    for path in (ROOT / "oplog").glob("*.py"):
        text = path.read_text()
        for name in FORBIDDEN:
            assert f"import {name}" not in text, (path.name, name)
            assert f"from {name}" not in text, (path.name, name)
