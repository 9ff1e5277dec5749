#!/usr/bin/env bash
# Builds logging.wasm from logging.c and wit/; run from this directory.
set -euo pipefail
name=logging
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
clang-19 --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor \
  -Wl,--no-entry -Wl,--strip-all "$name.c" -o "$tmp/$name.core.wasm"
wasm-tools component embed wit --world "$name" "$tmp/$name.core.wasm" -o "$tmp/$name.embed.wasm"
wasm-tools component new "$tmp/$name.embed.wasm" -o "$name.wasm"
wasm-tools validate "$name.wasm"
