// golemite:failing guest: deterministic guest failures for the executor's
// retry and error paths. `add` traps on a bad argument (a trap the guest
// would hit again on every retry); `overflow` exhausts the wasm call stack;
// `quit` exits through wasi:cli/exit (the worker becomes Exited).

#include <stdint.h>

static uint64_t total;

__attribute__((export_name("golemite:failing/api#add")))
void api_add(uint64_t value) {
  if (value > 10) {
    __builtin_trap();
  }
  total += value;
}

__attribute__((export_name("golemite:failing/api#get")))
uint64_t api_get(void) {
  return total;
}

// The volatile read and the non-linear use of the callee's result stop clang
// from turning the recursion into a loop, so every level is a real wasm frame.
// No local has its address taken, so the frames live on wasmtime's native
// stack (a clean "call stack exhausted" trap) rather than on the shadow stack
// in linear memory, whose overflow would silently corrupt data.
static volatile uint64_t seed = 1;

__attribute__((noinline))
static uint64_t dive(uint64_t depth) {
  if (depth == 0) {
    return seed;
  }
  uint64_t below = dive(depth - 1);
  return (below * 0x9e3779b97f4a7c15ull) ^ (below >> 29) ^ depth;
}

// `depth` levels of recursion: small depths return, a large one (e.g. 2^64-1)
// overflows the stack long before it could finish.
__attribute__((export_name("golemite:failing/api#overflow")))
uint64_t api_overflow(uint64_t depth) {
  return dive(depth);
}

// `result` without payloads flattens to its discriminant: 0 is ok, 1 is err.
__attribute__((import_module("wasi:cli/exit@0.2.0"), import_name("exit")))
extern void wasi_cli_exit(int32_t status);

__attribute__((export_name("golemite:failing/api#quit")))
void api_quit(int32_t ok) {
  wasi_cli_exit(ok ? 0 : 1);
  __builtin_unreachable();
}
