// golemite:counter guest: a global counter plus small probes for the executor
// (string round trip, a counted number of random imports, pure compute).
// The canonical-ABI glue is written by hand because no bindings generator is
// available offline; only malloc/free come from wasi-libc so the core module
// imports nothing but the WIT functions below.

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../include/cabi_realloc.h"

__attribute__((import_module("wasi:random/random@0.2.0"), import_name("get-random-u64")))
extern uint64_t wasi_random_get_random_u64(void);

static uint64_t counter;

// Strings are returned as (ptr, len) through memory because two results exceed
// the canonical ABI's single flat result; one call is in flight at a time, so a
// static area is enough.
static uint32_t ret_area[2];

__attribute__((export_name("golemite:counter/api#increment")))
uint64_t api_increment(void) {
  return ++counter;
}

__attribute__((export_name("golemite:counter/api#get")))
uint64_t api_get(void) {
  return counter;
}

// The argument buffer was allocated through cabi_realloc and now belongs to
// the guest, so it is handed straight back and freed in post-return.
__attribute__((export_name("golemite:counter/api#echo")))
uint32_t *api_echo(uint8_t *s, size_t len) {
  ret_area[0] = (uint32_t)(uintptr_t)s;
  ret_area[1] = (uint32_t)len;
  return ret_area;
}

__attribute__((export_name("cabi_post_golemite:counter/api#echo")))
void api_echo_post(uint32_t *ret) {
  if (ret[1] != 0) {
    free((void *)(uintptr_t)ret[0]);
  }
}

// Exactly n imports, so tests can count the recorded host calls.
__attribute__((export_name("golemite:counter/api#random-calls")))
uint64_t api_random_calls(uint32_t n) {
  uint64_t acc = 0;
  for (uint32_t i = 0; i < n; i++) {
    acc ^= wasi_random_get_random_u64();
  }
  return acc;
}

// Each round feeds the previous state through a multiply and rotations, which
// has no closed form, so the optimiser must run every iteration.
__attribute__((export_name("golemite:counter/api#burn")))
uint32_t api_burn(uint32_t n) {
  uint32_t x = 0x9e3779b9u;
  for (uint32_t i = 0; i < n; i++) {
    x ^= i;
    x *= 0x85ebca6bu;
    x ^= (x >> 13) | (x << 19);
    x += 0xc2b2ae35u;
  }
  return x;
}
