// golemite:stdio guest, for the "stdio" calling convention: `run` reads a JSON
// number from stdin and writes twice its value to stdout as JSON, or a JSON
// string saying why it could not.
//
// Doubling is done on the decimal digits, not on a double, so every JSON number
// doubles exactly (2.5 -> 5, 0.1 -> 0.2, 9007199254740993 -> 18014398509481986).
//
// The canonical-ABI glue is written by hand because no bindings generator is
// available offline; only malloc/realloc/free/memcpy come from wasi-libc, so the
// core module imports nothing but the WASI 0.2.0 functions declared below.

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

IMPORT("wasi:cli/stdin@0.2.0", "get-stdin")
extern int32_t wasi_get_stdin(void);
IMPORT("wasi:cli/stdout@0.2.0", "get-stdout")
extern int32_t wasi_get_stdout(void);
// result<list<u8>, stream-error> is written to `ret`: discriminant u8 at 0,
// then at 4 either the list (ptr, len) or the stream-error (discriminant at 4,
// error handle at 8).
IMPORT("wasi:io/streams@0.2.0", "[method]input-stream.blocking-read")
extern void wasi_input_stream_blocking_read(int32_t self, uint64_t len, uint8_t *ret);
IMPORT("wasi:io/streams@0.2.0", "[resource-drop]input-stream")
extern void wasi_input_stream_drop(int32_t self);
IMPORT("wasi:io/streams@0.2.0", "[method]output-stream.blocking-write-and-flush")
extern void wasi_output_stream_blocking_write_and_flush(int32_t self, const uint8_t *ptr,
                                                        size_t len, uint8_t *ret);
IMPORT("wasi:io/streams@0.2.0", "[resource-drop]output-stream")
extern void wasi_output_stream_drop(int32_t self);

enum { RESULT_OK = 0 };
enum { STREAM_ERROR_LAST_OPERATION_FAILED = 0, STREAM_ERROR_CLOSED = 1 };

// ---- allocation (../include/cabi_realloc_chained.h): the host allocates each read's
// bytes through cabi_realloc; they are copied out at once, so the chain is emptied
// after every read.
#include "../include/cabi_realloc_chained.h"

// ---- a growable byte buffer.

struct buf {
  uint8_t *data;
  size_t len;
  size_t cap;
};

static void buf_reserve(struct buf *b, size_t extra) {
  if (b->len + extra <= b->cap) {
    return;
  }
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra) {
    cap *= 2;
  }
  uint8_t *data = realloc(b->data, cap);
  if (data == NULL) {
    __builtin_trap();
  }
  b->data = data;
  b->cap = cap;
}

static void buf_append(struct buf *b, const void *p, size_t n) {
  buf_reserve(b, n);
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

static void buf_push(struct buf *b, uint8_t c) { buf_append(b, &c, 1); }

static void buf_zeros(struct buf *b, uint64_t n) {
  buf_reserve(b, n);
  memset(b->data + b->len, '0', n);
  b->len += n;
}

static void buf_decimal(struct buf *b, uint64_t v) {
  uint8_t digits[20];
  size_t n = 0;
  do {
    digits[n++] = (uint8_t)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) {
    buf_push(b, digits[--n]);
  }
}

// ---- stdin and stdout.

#define READ_CHUNK 65536
// blocking-write-and-flush accepts at most 4096 bytes per call (WASI 0.2.0);
// wasmtime traps on more.
#define WRITE_CHUNK 4096

// Reads until the stream reports `closed`; returns 0 on a read error. The error
// resource of `last-operation-failed` is not dropped, which leaks one handle
// per failure but keeps wasi:io/error out of the imports.
static int read_all(struct buf *in) {
  int32_t stream = wasi_get_stdin();
  _Alignas(4) uint8_t result[12];
  int ok = 1;
  for (;;) {
    wasi_input_stream_blocking_read(stream, READ_CHUNK, result);
    if (result[0] == RESULT_OK) {
      uint32_t ptr, len;
      memcpy(&ptr, result + 4, 4);
      memcpy(&len, result + 8, 4);
      buf_append(in, (const uint8_t *)(uintptr_t)ptr, len);
      free_all();
      continue;
    }
    ok = result[4] == STREAM_ERROR_CLOSED;
    break;
  }
  wasi_input_stream_drop(stream);
  return ok;
}

// A failed write is dropped: there is no channel left to report it on.
static void write_all(const uint8_t *p, size_t len) {
  int32_t stream = wasi_get_stdout();
  _Alignas(4) uint8_t result[12];
  while (len > 0) {
    size_t n = len < WRITE_CHUNK ? len : WRITE_CHUNK;
    wasi_output_stream_blocking_write_and_flush(stream, p, n, result);
    if (result[0] != RESULT_OK) {
      break;
    }
    p += n;
    len -= n;
  }
  wasi_output_stream_drop(stream);
}

// ---- the number.

// Past this many padding zeros the result is written with an exponent
// (still valid JSON) instead of in full.
#define MAX_PLAIN_ZEROS 1000
// Bounds the exponent so arithmetic on it cannot overflow; a number beyond it
// is refused rather than doubled wrongly.
#define MAX_EXPONENT 1000000000000000LL

enum outcome { DOUBLED, NOT_A_NUMBER, OUT_OF_RANGE };

static int is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

// Writes 2 * (the JSON number in s[0..n)) to out as JSON, unless s is not
// exactly one JSON number (surrounding whitespace aside).
static enum outcome double_number(const uint8_t *s, size_t n, struct buf *out) {
  while (n > 0 && is_ws(s[n - 1])) n--;
  while (n > 0 && is_ws(*s)) s++, n--;
  size_t i = 0;
  int negative = 0;
  if (i < n && s[i] == '-') {
    negative = 1;
    i++;
  }
  // JSON forbids leading zeros, "+", "1." and ".5".
  size_t int_start = i;
  if (i < n && s[i] == '0') {
    i++;
  } else if (i < n && s[i] >= '1' && s[i] <= '9') {
    while (i < n && is_digit(s[i])) i++;
  } else {
    return NOT_A_NUMBER;
  }
  size_t int_end = i;
  size_t frac_start = i, frac_end = i;
  if (i < n && s[i] == '.') {
    frac_start = ++i;
    while (i < n && is_digit(s[i])) i++;
    frac_end = i;
    if (frac_end == frac_start) return NOT_A_NUMBER;
  }
  int64_t exponent = 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    int exp_negative = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
      exp_negative = s[i] == '-';
      i++;
    }
    if (i == n || !is_digit(s[i])) return NOT_A_NUMBER;
    int too_big = 0;
    while (i < n && is_digit(s[i])) {
      exponent = exponent * 10 + (s[i] - '0');
      if (exponent > MAX_EXPONENT) {
        too_big = 1;
        exponent = MAX_EXPONENT;
      }
      i++;
    }
    if (i != n) return NOT_A_NUMBER;
    if (too_big) return OUT_OF_RANGE;
    if (exp_negative) exponent = -exponent;
  }
  if (i != n) return NOT_A_NUMBER;

  // value = digits * 10^exponent, with one spare leading digit for the carry.
  size_t int_len = int_end - int_start, frac_len = frac_end - frac_start;
  size_t len = 1 + int_len + frac_len;
  uint8_t *digits = malloc(len);
  if (digits == NULL) __builtin_trap();
  digits[0] = '0';
  memcpy(digits + 1, s + int_start, int_len);
  memcpy(digits + 1 + int_len, s + frac_start, frac_len);
  exponent -= (int64_t)frac_len;

  int carry = 0;
  for (size_t k = len; k-- > 0;) {
    int d = (digits[k] - '0') * 2 + carry;
    digits[k] = (uint8_t)('0' + d % 10);
    carry = d / 10;
  }

  size_t first = 0;
  while (first < len && digits[first] == '0') first++;
  if (first == len) {
    // Zero, including -0, is written as plain 0.
    buf_push(out, '0');
    free(digits);
    return DOUBLED;
  }
  while (digits[len - 1] == '0') {
    len--;
    exponent++;
  }
  const uint8_t *d = digits + first;
  size_t nd = len - first;

  if (negative) buf_push(out, '-');
  if (exponent >= 0) {
    buf_append(out, d, nd);
    if (exponent <= MAX_PLAIN_ZEROS) {
      buf_zeros(out, (uint64_t)exponent);
    } else {
      buf_push(out, 'e');
      buf_decimal(out, (uint64_t)exponent);
    }
  } else {
    uint64_t after_point = (uint64_t)(-exponent);
    if (after_point < nd) {
      buf_append(out, d, nd - after_point);
      buf_push(out, '.');
      buf_append(out, d + nd - after_point, after_point);
    } else if (after_point - nd <= MAX_PLAIN_ZEROS) {
      buf_append(out, "0.", 2);
      buf_zeros(out, after_point - nd);
      buf_append(out, d, nd);
    } else {
      buf_append(out, d, nd);
      buf_append(out, "e-", 2);
      buf_decimal(out, after_point);
    }
  }
  free(digits);
  return DOUBLED;
}

static void write_error(const char *json) {
  write_all((const uint8_t *)json, strlen(json));
}

__attribute__((export_name("run")))
void run(void) {
  struct buf in = {0};
  struct buf out = {0};
  if (!read_all(&in)) {
    write_error("\"cannot read stdin\"");
  } else {
    switch (double_number(in.data, in.len, &out)) {
    case DOUBLED:
      write_all(out.data, out.len);
      break;
    case NOT_A_NUMBER:
      write_error("\"not a number\"");
      break;
    case OUT_OF_RANGE:
      write_error("\"number out of range\"");
      break;
    }
  }
  free(in.data);
  free(out.data);
  free_all();
}
