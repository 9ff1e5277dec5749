"""The compiled hot modules type-check cleanly under mypy.

A module compiled with mypyc (oplog/native.py) checks its annotations at run time: a
wrong one there is a TypeError in production, not a lint warning. Their imports are
checked only as far as these modules use them (`--follow-imports=silent`), as the build
checks them.
"""

from __future__ import annotations

import ast
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


def _own_nodes(function: ast.AST):
    """The nodes of a function's body, without those of functions and classes inside it."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            yield node
            stack.extend(ast.iter_child_nodes(node))


def test_no_compiled_function_binds_one_name_to_two_exception_types():
    # mypyc gives `except A as e` and a later `except B as e` in one function the type A
    # for `e`, then refuses a B at run time with a TypeError (seen with ValueMismatch
    # and WasmtimeError in WorkerInstance._call); mypy accepts it.
    found = []
    for path in TYPED_MODULES:
        for function in ast.walk(ast.parse((ROOT / path).read_text())):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            types: dict[str, set[str]] = {}
            for node in _own_nodes(function):
                if isinstance(node, ast.ExceptHandler) and node.name:
                    types.setdefault(node.name, set()).add(ast.unparse(node.type) if node.type else "")
            found += [f"{path}:{function.lineno} {function.name}: {name} as {sorted(t)}"
                      for name, t in types.items() if len(t) > 1]
    assert found == []
