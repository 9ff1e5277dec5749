// golemite:logging guest: structured log lines through wasi:logging/logging, for the
// executor's /connect "log" events. Only malloc/free come from wasi-libc, so the core
// module imports nothing but the WIT function below.

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../include/cabi_realloc.h"

// enum level lowers to its case index; each string to (ptr, len).
__attribute__((import_module("wasi:logging/logging"), import_name("log")))
extern void wasi_logging_log(int32_t level, const char *ctx, size_t ctx_len, const uint8_t *msg, size_t msg_len);

static const char CONTEXT[] = "logging-guest";
static uint32_t calls;

// The message argument is freed before returning: the result is a plain u32, so
// there is no post-return to do it later.
__attribute__((export_name("golemite:logging/api#say")))
uint32_t api_say(int32_t level, uint8_t *msg, size_t len) {
  if (level < 0 || level > 5) {
    level = 2;  // out-of-range levels log at info rather than trap
  }
  wasi_logging_log(level, CONTEXT, sizeof CONTEXT - 1, msg, len);
  if (len > 0) {
    free(msg);
  }
  return ++calls;
}
