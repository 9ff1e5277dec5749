#!/usr/bin/env bash
# Builds counter.wasm from counter.c and wit/; run from this directory.
exec bash "$(dirname "$0")/../build-c-guest.sh" counter
