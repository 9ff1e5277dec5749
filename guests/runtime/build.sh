#!/usr/bin/env bash
# Builds runtime.wasm from runtime.c and wit/ (run from this directory).
# The shared golem packages are copied into wit/deps so the guest's WIT stays
# self-contained; the copies are checked in and always refreshed here.
set -euo pipefail
name=runtime
for pkg in golem-api golem-rpc; do
  rm -rf "wit/deps/$pkg"
  cp -r "../wit/deps/$pkg" "wit/deps/$pkg"
done
clang-19 --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor \
  -Wall -Werror -Wl,--no-entry -Wl,--strip-all \
  "$name.c" -o "$name.core.wasm"
wasm-tools component embed wit --world "$name" "$name.core.wasm" -o "$name.embed.wasm"
wasm-tools component new "$name.embed.wasm" -o "$name.wasm"
wasm-tools validate --features component-model "$name.wasm"
