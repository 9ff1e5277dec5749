// golemite:clocks-env guest: one export per non-deterministic WASI import
// (clocks, random, environment, stdout/stderr, sleep), so the executor's
// durable WASI layer can be tested call by call.
//
// The canonical-ABI glue is written by hand because no bindings generator is
// available offline; only malloc/free/memcpy come from wasi-libc, so the core
// module imports nothing but the WASI 0.2.0 functions declared below.

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

// Results that flatten to more than one core value are written by the host to
// the address passed as the last argument.
IMPORT("wasi:clocks/wall-clock@0.2.0", "now")
extern void wasi_wall_clock_now(uint8_t *ret);
IMPORT("wasi:clocks/monotonic-clock@0.2.0", "now")
extern uint64_t wasi_monotonic_clock_now(void);
IMPORT("wasi:clocks/monotonic-clock@0.2.0", "subscribe-duration")
extern int32_t wasi_monotonic_clock_subscribe_duration(uint64_t ns);
IMPORT("wasi:io/poll@0.2.0", "[method]pollable.block")
extern void wasi_pollable_block(int32_t self);
IMPORT("wasi:io/poll@0.2.0", "[resource-drop]pollable")
extern void wasi_pollable_drop(int32_t self);
IMPORT("wasi:random/random@0.2.0", "get-random-bytes")
extern void wasi_get_random_bytes(uint64_t len, uint8_t *ret);
IMPORT("wasi:random/random@0.2.0", "get-random-u64")
extern uint64_t wasi_get_random_u64(void);
IMPORT("wasi:random/insecure@0.2.0", "get-insecure-random-u64")
extern uint64_t wasi_get_insecure_random_u64(void);
IMPORT("wasi:random/insecure-seed@0.2.0", "insecure-seed")
extern void wasi_insecure_seed(uint8_t *ret);
IMPORT("wasi:cli/environment@0.2.0", "get-arguments")
extern void wasi_get_arguments(uint8_t *ret);
IMPORT("wasi:cli/environment@0.2.0", "get-environment")
extern void wasi_get_environment(uint8_t *ret);
IMPORT("wasi:cli/stdout@0.2.0", "get-stdout")
extern int32_t wasi_get_stdout(void);
IMPORT("wasi:cli/stderr@0.2.0", "get-stderr")
extern int32_t wasi_get_stderr(void);
IMPORT("wasi:io/streams@0.2.0", "[method]output-stream.blocking-write-and-flush")
extern void wasi_output_stream_blocking_write_and_flush(int32_t self, const uint8_t *ptr,
                                                        size_t len, uint8_t *ret);
IMPORT("wasi:io/streams@0.2.0", "[resource-drop]output-stream")
extern void wasi_output_stream_drop(int32_t self);

// ---- allocation: every cabi_realloc block is chained (../include/cabi_realloc_chained.h)
// so one call's arguments and host-returned lists (nested strings included) can be
// freed together once the host has read the result.
#include "../include/cabi_realloc_chained.h"

// One call is in flight at a time, so results in memory share a static area.
// 16 bytes, 8-aligned: a (u64, u32) or (u64, u64) tuple, or a (ptr, len) pair.
static _Alignas(8) uint8_t ret[16];

__attribute__((export_name("golemite:clocks-env/api#wall-now")))
uint8_t *api_wall_now(void) {
  // datetime {seconds: u64, nanoseconds: u32} and tuple<u64, u32> share one
  // layout, so the host writes the export's result in place.
  wasi_wall_clock_now(ret);
  return ret;
}

__attribute__((export_name("golemite:clocks-env/api#monotonic-now")))
uint64_t api_monotonic_now(void) {
  return wasi_monotonic_clock_now();
}

__attribute__((export_name("golemite:clocks-env/api#random-bytes")))
uint8_t *api_random_bytes(uint32_t n) {
  // The host allocates the list through cabi_realloc; post-return frees it.
  wasi_get_random_bytes(n, ret);
  return ret;
}

__attribute__((export_name("cabi_post_golemite:clocks-env/api#random-bytes")))
void api_random_bytes_post(uint8_t *r) {
  (void)r;
  free_all();
}

__attribute__((export_name("golemite:clocks-env/api#random-u64")))
uint64_t api_random_u64(void) {
  return wasi_get_random_u64();
}

__attribute__((export_name("golemite:clocks-env/api#insecure-random-u64")))
uint64_t api_insecure_random_u64(void) {
  return wasi_get_insecure_random_u64();
}

__attribute__((export_name("golemite:clocks-env/api#insecure-seed")))
uint8_t *api_insecure_seed(void) {
  wasi_insecure_seed(ret);
  return ret;
}

// list<string> and list<tuple<string, string>> come back from the host laid
// out exactly as the export returns them, so the (ptr, len) is passed on.
__attribute__((export_name("golemite:clocks-env/api#get-arguments")))
uint8_t *api_get_arguments(void) {
  wasi_get_arguments(ret);
  return ret;
}

__attribute__((export_name("cabi_post_golemite:clocks-env/api#get-arguments")))
void api_get_arguments_post(uint8_t *r) {
  (void)r;
  free_all();
}

__attribute__((export_name("golemite:clocks-env/api#get-environment")))
uint8_t *api_get_environment(void) {
  wasi_get_environment(ret);
  return ret;
}

__attribute__((export_name("cabi_post_golemite:clocks-env/api#get-environment")))
void api_get_environment_post(uint8_t *r) {
  (void)r;
  free_all();
}

// blocking-write-and-flush accepts at most 4096 bytes per call (WASI 0.2.0);
// wasmtime traps on more.
#define WRITE_CHUNK 4096

// A failed write is dropped rather than trapping: losing console output must
// not fail the worker. The error resource of `last-operation-failed` is not
// dropped, which leaks one handle per failure but keeps wasi:io/error out of
// the imports.
static void write_all(int32_t stream, const uint8_t *p, size_t len) {
  _Alignas(4) uint8_t result[12];
  while (len > 0) {
    size_t n = len < WRITE_CHUNK ? len : WRITE_CHUNK;
    wasi_output_stream_blocking_write_and_flush(stream, p, n, result);
    if (result[0] != 0) {
      break;
    }
    p += n;
    len -= n;
  }
  wasi_output_stream_drop(stream);
}

// print and eprint have no results, hence no post-return: the argument string
// is freed before returning.
__attribute__((export_name("golemite:clocks-env/api#print")))
void api_print(const uint8_t *s, size_t len) {
  write_all(wasi_get_stdout(), s, len);
  free_all();
}

__attribute__((export_name("golemite:clocks-env/api#eprint")))
void api_eprint(const uint8_t *s, size_t len) {
  write_all(wasi_get_stderr(), s, len);
  free_all();
}

// Returns the monotonic nanoseconds that passed, as the guest itself saw them.
__attribute__((export_name("golemite:clocks-env/api#sleep-ms")))
uint64_t api_sleep_ms(uint64_t ms) {
  const uint64_t ns_per_ms = 1000000;
  uint64_t ns = ms > UINT64_MAX / ns_per_ms ? UINT64_MAX : ms * ns_per_ms;
  uint64_t start = wasi_monotonic_clock_now();
  int32_t pollable = wasi_monotonic_clock_subscribe_duration(ns);
  wasi_pollable_block(pollable);
  wasi_pollable_drop(pollable);
  return wasi_monotonic_clock_now() - start;
}
