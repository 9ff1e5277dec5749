"""Layers point one way, api -> executor -> oplog (STYLE.md rule 1).

Every module is parsed, not imported, so an import hidden inside a function or under
`TYPE_CHECKING` counts as well: it would still tie the lower layer to the upper one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN = {
    "oplog": {"wasmtime", "aiohttp", "executor", "api"},
    "executor": {"aiohttp", "api"},
}


def imported_roots(source: str, module: str, is_package: bool) -> set[str]:
    """Top-level names of every module that `source` (the module `module`) imports."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                roots.add(node.module.split(".")[0])
            else:
                # `from .. import x` climbs level-1 packages above the current one.
                base = package[: len(package) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
                roots.add(target[0] if target else "")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            roots.add(node.args[0].value.split(".")[0])
    return roots


def modules_of(package: str) -> list[tuple[str, Path]]:
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), path))
    return out


def test_the_checker_sees_every_kind_of_import() -> None:
    src = (
        "import os, aiohttp.web\n"
        "from wasmtime import component\n"
        "from .. import api\n"
        "from ..executor.codec import lowerer\n"
        "from . import sibling\n"
        "def f():\n"
        "    import lmdb\n"
        "    importlib.import_module('structlog.stdlib')\n"
    )
    roots = imported_roots(src, "oplog.sub.mod", is_package=False)
    assert roots == {"os", "aiohttp", "wasmtime", "oplog", "lmdb", "structlog"}
    # From a package's __init__, one dot is the package itself.
    assert imported_roots("from . import x\nfrom .. import y\n", "executor.host", is_package=True) == {"executor"}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_down_only(package: str) -> None:
    modules = modules_of(package)
    assert len(modules) >= 3, f"{package}/ has suspiciously few modules"
    bad = []
    for module, path in modules:
        roots = imported_roots(path.read_text(), module, path.name == "__init__.py")
        for root in sorted(roots & FORBIDDEN[package]):
            bad.append(f"{path.relative_to(ROOT)} imports {root}")
    assert not bad, "layering violated (api -> executor -> oplog):\n" + "\n".join(bad)
