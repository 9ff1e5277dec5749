"""The compiled hot modules: used only when the build matches the sources, all or none."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from oplog import native
from tests.helpers import ROOT


def _tree_with_build(tmp_path):
    """A copy of the compiled modules' sources and a manifest that matches them."""
    for m in native.COMPILED:
        src, dst = native.source_path(m), native.source_path(m, tmp_path)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"abi": native.abi_tag(), "sources": native.source_hashes(tmp_path)}))
    return manifest


def test_a_build_that_matches_every_source_is_usable(tmp_path):
    assert native.check_build(_tree_with_build(tmp_path), tmp_path) is None


def test_editing_one_compiled_module_makes_the_whole_build_unusable(tmp_path):
    manifest = _tree_with_build(tmp_path)
    edited = tmp_path / "executor" / "guest_pool.py"
    edited.write_text(edited.read_text() + "\n# edited\n")
    problem = native.check_build(manifest, tmp_path)
    assert problem is not None and "executor.guest_pool" in problem and "make native" in problem


def test_a_build_for_another_python_or_none_at_all_is_unusable(tmp_path):
    manifest = _tree_with_build(tmp_path)
    recorded = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**recorded, "abi": ".cpython-39-x86_64-linux-gnu.so"}))
    assert "cpython-39" in native.check_build(manifest, tmp_path)
    manifest.write_text("{not json")
    assert "unreadable" in native.check_build(manifest, tmp_path)
    assert "not built" in native.check_build(tmp_path / "missing.json", tmp_path)


@pytest.mark.parametrize("mode, problem, expected", [
    ("auto", None, True), ("auto", "out of date", False), ("off", None, False),
    ("require", None, True), ("", None, True),
])
def test_the_mode_and_the_build_decide_together(monkeypatch, mode, problem, expected):
    monkeypatch.setenv("GOLEMITE_NATIVE", mode)
    monkeypatch.setattr(native, "check_build", lambda: problem)
    in_use, why = native._decide()
    assert in_use is expected
    if problem:
        assert problem in why


def test_require_refuses_an_unusable_build_and_an_unknown_mode_is_an_error(monkeypatch):
    monkeypatch.setattr(native, "check_build", lambda: "out of date, changed since the build: oplog.writer")
    monkeypatch.setenv("GOLEMITE_NATIVE", "require")
    with pytest.raises(native.NativeBuildUnusable, match="oplog.writer"):
        native._decide()
    monkeypatch.setenv("GOLEMITE_NATIVE", "fast")
    with pytest.raises(ValueError, match="auto, off, require"):
        native._decide()


def _loaded(mode: str) -> list[str]:
    """The modules of COMPILED that a fresh process under `mode` imports from an extension."""
    code = ("import importlib, json; from oplog import native\n"
            "modules = [importlib.import_module(m) for m in native.COMPILED]\n"
            "print(json.dumps([m.__name__ for m in modules if not m.__file__.endswith('.py')]))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "GOLEMITE_NATIVE": mode})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_with_a_fresh_build_every_compiled_module_loads_from_its_extension():
    if native.check_build() is not None:
        if os.environ.get("GOLEMITE_NATIVE") == "require":
            pytest.fail(f"GOLEMITE_NATIVE=require, but the build is {native.check_build()}")
        pytest.skip(f"the compiled build is {native.check_build()}")
    assert _loaded("require") == list(native.COMPILED)
    assert _loaded("off") == []


def test_a_failed_optional_build_is_reported_and_leaves_no_usable_build(tmp_path):
    # `make run` builds with --optional: without a working C compiler golemite still
    # serves, on its source. (Here the compiler is `false`; the build goes to tmp_path.)
    out = tmp_path / "native"
    proc = subprocess.run([sys.executable, "tools/build_native.py", "--optional", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CC": "false"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "compiling failed" in proc.stderr and "runs on its Python source" in proc.stderr
    assert "not built" in native.check_build(out / "manifest.json")
    strict = subprocess.run([sys.executable, "tools/build_native.py", "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "CC": "false"})
    assert strict.returncode != 0  # `make native` and `make test` insist
