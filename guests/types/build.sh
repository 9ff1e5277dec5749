#!/usr/bin/env bash
# Builds types.wasm from types.c and wit/; run from this directory.
exec bash "$(dirname "$0")/../build-c-guest.sh" types
