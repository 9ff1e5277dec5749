// golemite:promise guest: thin wrappers around golem:api/host promises.
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

// Canonical ABI memory layout of golem:api/host.promise-id on wasm32:
// uuid at 0 and 8, worker-name (ptr, len) at 16 and 20, oplog-idx at 24.
typedef struct {
  uint64_t high_bits;
  uint64_t low_bits;
  uint8_t *worker_name;
  size_t worker_name_len;
  uint64_t oplog_idx;
} promise_id_t;

_Static_assert(sizeof(promise_id_t) == 32, "promise-id is 32 bytes");

typedef struct {
  uint8_t *ptr;
  size_t len;
} bytes_t;

IMPORT(HOST, "golem-create-promise")
void host_create_promise(promise_id_t *ret);
IMPORT(HOST, "golem-await-promise")
void host_await_promise(uint64_t high, uint64_t low, uint8_t *name,
                        size_t name_len, uint64_t idx, bytes_t *ret);
IMPORT(HOST, "golem-complete-promise")
int32_t host_complete_promise(uint64_t high, uint64_t low, uint8_t *name,
                              size_t name_len, uint64_t idx, uint8_t *data,
                              size_t data_len);
IMPORT(HOST, "golem-delete-promise")
void host_delete_promise(uint64_t high, uint64_t low, uint8_t *name,
                         size_t name_len, uint64_t idx);

IMPORT("wasi:cli/stdout@0.2.0", "get-stdout")
int32_t wasi_get_stdout(void);
IMPORT("wasi:io/streams@0.2.0", "[method]output-stream.blocking-write-and-flush")
void wasi_blocking_write_and_flush(int32_t stream, const uint8_t *data,
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
static void print(const uint8_t *data, size_t len) {
  uint32_t ret[3];  // result<_, stream-error>: 12 bytes, align 4
  int32_t out = wasi_get_stdout();
  // A failed write to stdout has no one to report to; the result is ignored.
  wasi_blocking_write_and_flush(out, data, len, ret);
  wasi_drop_output_stream(out);
}

static size_t format_u64(uint64_t v, uint8_t *buf) {
  uint8_t tmp[20];
  size_t n = 0;
  do {
    tmp[n++] = (uint8_t)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
  return n;
}

static promise_id_t created;
static bytes_t awaited;

EXPORT("golemite:promise/api#create")
promise_id_t *export_create(void) {
  host_create_promise(&created);
  return &created;
}

EXPORT("cabi_post_golemite:promise/api#create")
void post_create(promise_id_t *ret) {
  free_list(ret->worker_name, ret->worker_name_len);
}

EXPORT("golemite:promise/api#await")
bytes_t *export_await(uint64_t high, uint64_t low, uint8_t *name,
                      size_t name_len, uint64_t idx) {
  host_await_promise(high, low, name, name_len, idx, &awaited);
  free_list(name, name_len);
  return &awaited;
}

EXPORT("cabi_post_golemite:promise/api#await")
void post_await(bytes_t *ret) { free_list(ret->ptr, ret->len); }

EXPORT("golemite:promise/api#create-and-await")
bytes_t *export_create_and_await(void) {
  promise_id_t id;
  host_create_promise(&id);

  static const uint8_t prefix[] = "promise ";
  uint8_t line[sizeof(prefix) - 1 + 20 + 1];
  size_t n = sizeof(prefix) - 1;
  for (size_t i = 0; i < n; i++) line[i] = prefix[i];
  n += format_u64(id.oplog_idx, line + n);
  line[n++] = '\n';
  print(line, n);

  host_await_promise(id.high_bits, id.low_bits, id.worker_name,
                     id.worker_name_len, id.oplog_idx, &awaited);
  free_list(id.worker_name, id.worker_name_len);
  return &awaited;
}

EXPORT("cabi_post_golemite:promise/api#create-and-await")
void post_create_and_await(bytes_t *ret) {
  free_list(ret->ptr, ret->len);
}

EXPORT("golemite:promise/api#complete")
int32_t export_complete(uint64_t high, uint64_t low, uint8_t *name,
                        size_t name_len, uint64_t idx, uint8_t *data,
                        size_t data_len) {
  int32_t ok =
      host_complete_promise(high, low, name, name_len, idx, data, data_len);
  free_list(name, name_len);
  free_list(data, data_len);
  return ok;
}

EXPORT("golemite:promise/api#delete")
void export_delete(uint64_t high, uint64_t low, uint8_t *name, size_t name_len,
                   uint64_t idx) {
  host_delete_promise(high, low, name, name_len, idx);
  free_list(name, name_len);
}
