#!/usr/bin/env bash
# Builds a plain C guest, <name>.wasm from <name>.c and wit/ (world <name>), in the
# current directory: every guests/<name>/build.sh of a C guest without extra steps
# runs this with its name.
set -euo pipefail
name="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
clang-19 --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor \
  -Wl,--no-entry -Wl,--strip-all "$name.c" -o "$tmp/$name.core.wasm"
wasm-tools component embed wit --world "$name" "$tmp/$name.core.wasm" -o "$tmp/$name.embed.wasm"
wasm-tools component new "$tmp/$name.embed.wasm" -o "$name.wasm"
wasm-tools validate "$name.wasm"
