#!/usr/bin/env bash
# Builds shopping-cart.wasm from shopping-cart.c and wit/; run from this directory.
exec bash "$(dirname "$0")/../build-c-guest.sh" shopping-cart
