#!/usr/bin/env bash
# Builds stdio.wasm from stdio.c and wit/; run from this directory.
exec bash "$(dirname "$0")/../build-c-guest.sh" stdio
