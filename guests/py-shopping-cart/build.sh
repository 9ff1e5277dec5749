#!/usr/bin/env bash
# Builds py-shopping-cart.wasm from app.py and wit/ with componentize-py; run from this directory.
#
# Not byte-reproducible: two builds from the same inputs differ, and no option of
# componentize-py pins it. componentize-py pre-initialises CPython inside wasmtime and
# snapshots its memory into the component, and that snapshot holds values drawn at build
# time: CPython's string-hash seed (which shapes every dict and set in the heap) and
# wasi-libc's arc4random (ChaCha) state come from the host's entropy, and a few
# timestamp-like words follow the build time. The pre-init WASI context is built inside
# componentize-py with a fixed environment (no PYTHONHASHSEED gets through). A preload
# shim faking libc's getrandom and wall clock was tried: the size then matched and most
# of the data too, but the ChaCha state and the timestamps still changed, so those reach
# the kernel without going through libc. What a rebuild does keep, and what the tests
# check, is the component's WIT (imports and exports) and its behaviour.
set -euo pipefail
name=py-shopping-cart
here="$(pwd)"
# componentize-py comes from the project's `guests` extra; `make guests` and the tests put
# the virtualenv's bin/ first on PATH.
command -v componentize-py >/dev/null || {
  echo "componentize-py missing: pip install '.[guests]'" >&2
  exit 1
}
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Build from a copy holding only app.py: componentize-py mounts every --python-path
# directory read-write while pre-initialising, so CPython would leave __pycache__ here,
# and anything else lying in this directory would be importable by the guest.
cp app.py "$tmp/"
componentize-py -q -d "$here/wit" -w shopping-cart componentize app \
  -p "$tmp" -o "$tmp/$name.wasm"
wasm-tools validate "$tmp/$name.wasm"
mv "$tmp/$name.wasm" "$name.wasm"
