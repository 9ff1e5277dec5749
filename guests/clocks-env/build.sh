#!/usr/bin/env bash
# Builds clocks-env.wasm from clocks-env.c and wit/; run from this directory.
exec bash "$(dirname "$0")/../build-c-guest.sh" clocks-env
