"""Compiled hot modules: use the mypyc build when it matches the source, else the source.

`make native` (tools/build_native.py) compiles the modules in COMPILED with mypyc into
build/native/, beside a manifest of their sources' hashes. Each package that owns one of
them puts its build directory ahead of its own on `__path__`, so `import oplog.writer`
loads the extension, but only if every compiled module's source still has the hash the
build recorded: an edited module must never be shadowed by a stale extension, and the
compiled modules call each other natively, so they are used all together or not at all.

GOLEMITE_NATIVE picks: `auto` (the default: compiled when fresh, quietly the source
otherwise), `off` (always the source, e.g. to debug or to monkeypatch a class), or
`require` (fail at import unless the fresh build is used: `make test` runs so, the suite
then tests what `make run` serves).
"""

from __future__ import annotations

import hashlib
import json
import os
import sysconfig
from pathlib import Path

# The modules worth compiling: those an invocation passes through many times. Each must
# stay clean under mypy (tests/unit/test_typed_modules.py), since mypyc checks
# annotations at run time.
COMPILED = (
    "oplog.batch", "oplog.commit", "oplog.recent", "oplog.store", "oplog.writer",
    "executor.inbox", "executor.worker_log", "executor.guest_pool", "executor.host.cursor",
    "executor.instance", "executor.worker", "executor.executor", "executor.templates",
    "executor.fastcall", "executor.codec", "oplog.encoding",
)
MODES = ("auto", "off", "require")
ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "build" / "native"
MANIFEST = BUILD_DIR / "manifest.json"


class NativeBuildUnusable(ImportError):
    """GOLEMITE_NATIVE=require and the compiled modules cannot be used."""


def source_path(module: str, root: Path = ROOT) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def source_hashes(root: Path = ROOT) -> dict[str, str]:
    return {m: hashlib.sha256(source_path(m, root).read_bytes()).hexdigest() for m in COMPILED}


def abi_tag() -> str:
    """What an extension must have been built for to load here."""
    return str(sysconfig.get_config_var("EXT_SUFFIX"))


def check_build(manifest: Path = MANIFEST, root: Path = ROOT) -> str | None:
    """None when the build in `manifest`'s directory matches the sources under `root`,
    else why not (a sentence for a log line or an error)."""
    try:
        recorded = json.loads(manifest.read_text())
    except FileNotFoundError:
        return "not built (`make native` builds it)"
    except (OSError, ValueError) as e:
        return f"unreadable manifest {manifest.name}: {e}"
    if recorded.get("abi") != abi_tag():
        return f"built for {recorded.get('abi')}, this Python loads {abi_tag()}"
    hashes = recorded.get("sources", {})
    changed = [m for m, h in source_hashes(root).items() if hashes.get(m) != h]
    if changed:
        return f"out of date, changed since the build: {', '.join(changed)} (`make native` rebuilds)"
    return None


def _decide() -> tuple[bool, str]:
    mode = os.environ.get("GOLEMITE_NATIVE", "auto") or "auto"
    if mode not in MODES:
        raise ValueError(f"GOLEMITE_NATIVE must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "off":
        return False, "off (GOLEMITE_NATIVE=off)"
    problem = check_build()
    if problem is None:
        return True, f"compiled ({len(COMPILED)} modules)"
    if mode == "require":
        raise NativeBuildUnusable(f"GOLEMITE_NATIVE=require, but the compiled build is {problem}")
    return False, f"source: the compiled build is {problem}"


_decision: tuple[bool, str] | None = None


def status() -> tuple[bool, str]:
    """(in use, a sentence saying which and why), decided once per process."""
    global _decision
    if _decision is None:
        _decision = _decide()
    return _decision


def package_path(package: str, path: list[str]) -> list[str]:
    """`path` (a package's `__path__`) with its compiled directory first, when in use."""
    if not status()[0]:
        return path
    compiled = BUILD_DIR.joinpath(*package.split("."))
    return [str(compiled), *path] if compiled.is_dir() else path
