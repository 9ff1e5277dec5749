"""Compile golemite's hot modules with mypyc into build/native/ (run by `make native`).

`--if-stale` builds only when the build is missing or no longer matches the sources;
`--optional` reports a failed build (no C compiler, say) and exits 0, since golemite
runs on its source without it (`make run` builds so; `make test` insists).

The sources stay the truth: oplog/native.py uses the extensions only while every
compiled module's source has the hash recorded in build/native/manifest.json, which
is written last, after the extensions are in place.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["GOLEMITE_NATIVE"] = "off"  # importing oplog below must not load a stale build

from oplog import native  # noqa: E402


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--if-stale", action="store_true", help="build only if missing or out of date")
    ap.add_argument("--optional", action="store_true", help="report a failed build and exit 0")
    ap.add_argument("--out", type=Path, default=native.BUILD_DIR, help=argparse.SUPPRESS)  # for tests
    args = ap.parse_args(argv)
    out = args.out.resolve()
    if args.if_stale:
        problem = native.check_build(out / native.MANIFEST.name)
        if problem is None:
            return 0
        print(f"build_native: the compiled build is {problem}: building")
    if not args.optional:
        return build(out)
    try:
        failure: object = build(out) or None
    except (Exception, SystemExit) as e:  # noqa: BLE001 - any failure: golemite runs on source
        failure = e.code if isinstance(e, SystemExit) else e
    if failure is not None:
        print(f"build_native: compiling failed ({str(failure).splitlines()[0][:300]}); "
              f"golemite runs on its Python source", file=sys.stderr)
    return 0


def build(out: Path) -> int:
    # Imported here: mypyc and setuptools are build-time tools, not golemite's dependencies.
    from mypyc.build import mypycify
    from setuptools import Distribution

    started = time.monotonic()
    shutil.rmtree(out, ignore_errors=True)  # no extension of a module no longer compiled
    work = out.with_name(out.name + "-work")
    paths = [str(native.source_path(m).relative_to(ROOT)) for m in native.COMPILED]
    hashes = native.source_hashes()
    os.chdir(ROOT)  # mypyc names modules by their paths relative to here
    extensions = mypycify(
        ["--follow-imports=silent", *paths],
        opt_level="3",
        target_dir=str(work / "c"),
        # Inside the oplog package, so the extensions need nothing on sys.path.
        group_name="oplog.native_lib",
    )
    dist = Distribution({"name": "golemite-native", "ext_modules": extensions})
    cmd = dist.get_command_obj("build_ext")
    cmd.build_lib = str(out)
    cmd.build_temp = str(work / "obj")
    cmd.parallel = os.cpu_count() or 1
    cmd.ensure_finalized()
    cmd.run()
    if native.source_hashes() != hashes:
        print("build_native: sources changed during the build; run it again", file=sys.stderr)
        return 1
    (out / native.MANIFEST.name).write_text(json.dumps({"abi": native.abi_tag(), "sources": hashes}, indent=1))
    shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    print(f"build_native: {len(native.COMPILED)} modules compiled into {shown} in "
          f"{time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
