#!/usr/bin/env bash
# Rebuilds every guest: each guests/<name>/build.sh writes guests/<name>/<name>.wasm.
# The C toolchain comes from Debian packages; install them only when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
need=()
command -v clang-19 >/dev/null || need+=(clang-19)
command -v wasm-ld-19 >/dev/null || need+=(lld-19)
[ -d /usr/include/wasm32-wasi ] || [ -d /usr/share/wasi-sysroot ] || need+=(wasi-libc)
[ -e /usr/lib/llvm-19/lib/clang/19/lib/wasi ] || need+=(libclang-rt-19-dev-wasm32)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} (Debian packages)" >&2
  apt-get update -qq && apt-get install -y -qq "${need[@]}"
fi
command -v wasm-tools >/dev/null || { echo "wasm-tools missing: run 'make install' first" >&2; exit 1; }
only="${1:-}"
for b in "$here"/*/build.sh; do
  name="$(basename "$(dirname "$b")")"
  [ -n "$only" ] && [ "$only" != "$name" ] && continue
  # A guest whose toolchain cannot build byte-identical output is rebuilt only on request.
  if [ -z "$only" ] && [ -e "$(dirname "$b")/ON-DEMAND" ]; then
    echo "== $name: skipped (not reproducible; 'bash guests/build.sh $name' rebuilds it)" >&2
    continue
  fi
  echo "== $name" >&2
  (cd "$(dirname "$b")" && bash ./build.sh)
done
