// golemite:runtime guest: oplog control, retry policy, persistence level and
// idempotence of golem:api/host, each behind a small export.
//
// There is no wit-bindgen offline, so the canonical ABI glue is written by
// hand. Only malloc/free come from wasi-libc, which keeps the core module
// free of wasi_snapshot_preview1 imports (no adapter needed).

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define IMPORT(module, name) \
  __attribute__((import_module(module), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

#define HOST "golem:api/host@0.2.0"
#define API "golemite:runtime/api#"

// Canonical ABI memory layouts on wasm32; C's natural layout matches them.
typedef struct {
  uint64_t high_bits;
  uint64_t low_bits;
} uuid_t;

typedef struct {
  uint32_t max_attempts;
  uint64_t min_delay;
  uint64_t max_delay;
  uint32_t multiplier;
} retry_policy_t;

_Static_assert(sizeof(retry_policy_t) == 32, "retry-policy is 32 bytes");

typedef struct {
  uint8_t *ptr;
  size_t len;
} bytes_t;

// Discriminants of golem:api/host.persistence-level.
enum { PERSIST_NOTHING = 0, PERSIST_REMOTE_SIDE_EFFECTS = 1, SMART = 2 };

IMPORT(HOST, "get-self-uri")
void host_get_self_uri(uint8_t *name, size_t name_len, bytes_t *ret);
IMPORT(HOST, "get-oplog-index")
uint64_t host_get_oplog_index(void);
IMPORT(HOST, "set-oplog-index")
void host_set_oplog_index(uint64_t idx);
IMPORT(HOST, "oplog-commit")
void host_oplog_commit(int32_t replicas);
IMPORT(HOST, "mark-begin-operation")
uint64_t host_mark_begin_operation(void);
IMPORT(HOST, "mark-end-operation")
void host_mark_end_operation(uint64_t begin);
IMPORT(HOST, "get-retry-policy")
void host_get_retry_policy(retry_policy_t *ret);
IMPORT(HOST, "set-retry-policy")
void host_set_retry_policy(uint32_t max_attempts, uint64_t min_delay,
                           uint64_t max_delay, uint32_t multiplier);
IMPORT(HOST, "get-oplog-persistence-level")
int32_t host_get_persistence_level(void);
IMPORT(HOST, "set-oplog-persistence-level")
void host_set_persistence_level(int32_t level);
IMPORT(HOST, "get-idempotence-mode")
int32_t host_get_idempotence_mode(void);
IMPORT(HOST, "set-idempotence-mode")
void host_set_idempotence_mode(int32_t idempotent);
IMPORT(HOST, "generate-idempotency-key")
void host_generate_idempotency_key(uuid_t *ret);
IMPORT(HOST, "golem-complete-promise")
int32_t host_complete_promise(uint64_t high, uint64_t low, uint8_t *name,
                              size_t name_len, uint64_t idx, uint8_t *data,
                              size_t data_len);

IMPORT("wasi:random/random@0.2.0", "get-random-u64")
uint64_t wasi_get_random_u64(void);
IMPORT("wasi:cli/stdout@0.2.0", "get-stdout")
int32_t wasi_get_stdout(void);
IMPORT("wasi:io/streams@0.2.0", "[method]output-stream.blocking-write-and-flush")
void wasi_blocking_write_and_flush(int32_t stream, const char *data,
                                   size_t len, uint32_t *ret);
IMPORT("wasi:io/streams@0.2.0", "[resource-drop]output-stream")
void wasi_drop_output_stream(int32_t stream);

EXPORT("cabi_realloc")
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
  (void)old_size;
  if (new_size == 0) return (void *)align;
  void *p = realloc(old, new_size);
  if (p == NULL) __builtin_trap();
  return p;
}

// Empty lists come from cabi_realloc(.., 0) as the bare alignment, which is
// not a heap pointer: only non-empty ones are freed.
static void free_list(void *ptr, size_t len) {
  if (len != 0) free(ptr);
}

// A fresh stdout handle per write, dropped at once: no handle outlives a
// call, so nothing has to be rebuilt when the executor replays the worker.
static void print(const char *text) {
  size_t len = 0;
  while (text[len] != '\0') len++;
  uint32_t ret[3];  // result<_, stream-error>: 12 bytes, align 4
  int32_t out = wasi_get_stdout();
  // A failed write to stdout has no one to report to; the result is ignored.
  wasi_blocking_write_and_flush(out, text, len, ret);
  wasi_drop_output_stream(out);
}

static bytes_t self_uri;
static retry_policy_t retry_policy;
static uuid_t idempotency_key;

EXPORT(API "self-uri")
bytes_t *export_self_uri(uint8_t *name, size_t name_len) {
  // uri is a record of one string, so its layout is the string's.
  host_get_self_uri(name, name_len, &self_uri);
  free_list(name, name_len);
  return &self_uri;
}

EXPORT("cabi_post_" API "self-uri")
void post_self_uri(bytes_t *ret) { free_list(ret->ptr, ret->len); }

EXPORT(API "oplog-index")
uint64_t export_oplog_index(void) { return host_get_oplog_index(); }

// The durable executor resumes right after the first get-oplog-index when
// set-oplog-index is called; that second pass reads a larger `now`, so the
// `< 5` guard keeps it from jumping again.
EXPORT(API "jump")
uint64_t export_jump(void) {
  uint64_t start = host_get_oplog_index();
  print("jump start\n");
  uint64_t now = host_get_oplog_index();
  if (now - start < 5) host_set_oplog_index(start);
  print("jump end\n");
  return host_get_oplog_index() - start;
}

EXPORT(API "commit")
void export_commit(int32_t replicas) { host_oplog_commit(replicas); }

EXPORT(API "atomic-region")
uint64_t export_atomic_region(int32_t fail) {
  uint64_t begin = host_mark_begin_operation();
  uint64_t x = wasi_get_random_u64();
  print("in region\n");
  // Trapping before mark-end-operation leaves the region open, which is
  // what makes the executor re-run it whole on recovery.
  if (fail) __builtin_trap();
  host_mark_end_operation(begin);
  return x;
}

EXPORT(API "get-retry")
retry_policy_t *export_get_retry(void) {
  host_get_retry_policy(&retry_policy);
  return &retry_policy;
}

EXPORT(API "set-retry")
void export_set_retry(uint32_t max_attempts, uint64_t min_delay,
                      uint64_t max_delay, uint32_t multiplier) {
  host_set_retry_policy(max_attempts, min_delay, max_delay, multiplier);
}

EXPORT(API "get-persistence")
int32_t export_get_persistence(void) { return host_get_persistence_level(); }

EXPORT(API "set-persistence")
void export_set_persistence(int32_t level) { host_set_persistence_level(level); }

EXPORT(API "random-without-persistence")
uint64_t export_random_without_persistence(uint32_t n) {
  int32_t previous = host_get_persistence_level();
  host_set_persistence_level(PERSIST_NOTHING);
  uint64_t x = 0;
  for (uint32_t i = 0; i < n; i++) x ^= wasi_get_random_u64();
  host_set_persistence_level(previous);
  return x;
}

EXPORT(API "get-idempotence")
int32_t export_get_idempotence(void) { return host_get_idempotence_mode(); }

EXPORT(API "set-idempotence")
void export_set_idempotence(int32_t idempotent) {
  host_set_idempotence_mode(idempotent);
}

EXPORT(API "idempotency-key")
uuid_t *export_idempotency_key(void) {
  host_generate_idempotency_key(&idempotency_key);
  return &idempotency_key;
}

EXPORT(API "complete-other")
int32_t export_complete_other(uint64_t template_high, uint64_t template_low,
                              uint8_t *worker_name, size_t worker_name_len,
                              uint64_t oplog_idx, uint8_t *data,
                              size_t data_len) {
  // The flattened promise-id is exactly these five values in this order.
  int32_t ok = host_complete_promise(template_high, template_low, worker_name,
                                     worker_name_len, oplog_idx, data,
                                     data_len);
  free_list(worker_name, worker_name_len);
  free_list(data, data_len);
  return ok;
}
