#!/usr/bin/env bash
# Builds resources.wasm from resources.c and wit/; run from this directory.
exec bash "$(dirname "$0")/../build-c-guest.sh" resources
