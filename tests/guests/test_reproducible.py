"""Rebuilding a guest from its checked-in sources gives the checked-in .wasm, byte for byte."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GUESTS = Path(__file__).resolve().parents[2] / "guests"

# wasm-tools is installed into the same virtualenv as the interpreter running pytest.
TOOL_PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["counter", "shopping-cart", "failing", "interruption", "types", "clocks-env",
                                  "stdio", "promise", "runtime", "resources", "logging"])
def test_rebuild_matches_checked_in_wasm(name: str, tmp_path: Path) -> None:
    if shutil.which("clang-19", path=TOOL_PATH) is None:
        pytest.skip("clang-19 is not installed")
    if shutil.which("wasm-tools", path=TOOL_PATH) is None:
        pytest.skip("wasm-tools is not installed")
    checked_in = GUESTS / name / f"{name}.wasm"
    work = tmp_path / name
    # Build a copy so a mismatch never overwrites the checked-in file.
    shutil.copytree(GUESTS / name, work, ignore=shutil.ignore_patterns("*.wasm"))
    shutil.copytree(GUESTS / "wit", tmp_path / "wit")  # shared golem WIT that some build.sh copy in
    shutil.copy(GUESTS / "build-c-guest.sh", tmp_path)  # the recipe the plain C guests' build.sh run
    shutil.copytree(GUESTS / "include", tmp_path / "include")  # the allocators C guests share
    subprocess.run(
        ["bash", "./build.sh"],
        cwd=work,
        env={**os.environ, "PATH": TOOL_PATH},
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert sha256(work / f"{name}.wasm") == sha256(checked_in)
