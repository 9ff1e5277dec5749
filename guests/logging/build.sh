#!/usr/bin/env bash
# Builds logging.wasm from logging.c and wit/; run from this directory.
exec bash "$(dirname "$0")/../build-c-guest.sh" logging
