#!/usr/bin/env bash
# Builds failing.wasm from failing.c and wit/; run from this directory.
exec bash "$(dirname "$0")/../build-c-guest.sh" failing
