#!/usr/bin/env bash
# Builds interruption.wasm from interruption.c and wit/; run from this directory.
exec bash "$(dirname "$0")/../build-c-guest.sh" interruption
