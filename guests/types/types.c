// golemite:types guest: echo functions for every kind of WIT value, the test
// bed for the executor's value codec (JSON <-> component values).
//
// The canonical-ABI glue is written by hand because no bindings generator is
// available offline; only malloc/free/memcpy come from wasi-libc, so the core
// module imports nothing at all.
//
// Canonical ABI reminders that shape this file: a function whose parameters
// flatten to at most 16 core values receives them flat; a result that flattens
// to more than one value is written to memory and its address returned. Every
// result here that lives in memory is built in the static `ret` area (one call
// is in flight at a time) and may point into argument buffers, which the host
// allocated through cabi_realloc and now belong to the guest; post-return
// frees them all at once.

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// ---- allocation: every cabi_realloc block is chained (../include/cabi_realloc_chained.h)
// so post-return can free a whole call's arguments without walking nested lists and
// strings.

#include "../include/cabi_realloc_chained.h"

// Large enough for the biggest result in memory (drawing: 44 bytes), aligned
// for the u64 and f64 payloads.
static _Alignas(8) uint8_t ret[48];

static void put_u8(size_t off, uint32_t v) { ret[off] = (uint8_t)v; }
static void put_u16(size_t off, uint32_t v) { uint16_t x = (uint16_t)v; memcpy(ret + off, &x, 2); }
static void put_u32(size_t off, uint32_t v) { memcpy(ret + off, &v, 4); }
static void put_f32(size_t off, float v) { memcpy(ret + off, &v, 4); }
static void put_f64(size_t off, double v) { memcpy(ret + off, &v, 8); }

__attribute__((export_name("cabi_post_golemite:types/api#echo-string")))
void post_echo_string(uint8_t *r) { (void)r; free_all(); }
__attribute__((export_name("cabi_post_golemite:types/api#echo-bytes")))
void post_echo_bytes(uint8_t *r) { (void)r; free_all(); }
__attribute__((export_name("cabi_post_golemite:types/api#echo-option")))
void post_echo_option(uint8_t *r) { (void)r; free_all(); }
__attribute__((export_name("cabi_post_golemite:types/api#echo-result")))
void post_echo_result(uint8_t *r) { (void)r; free_all(); }
__attribute__((export_name("cabi_post_golemite:types/api#echo-result-unit-ok")))
void post_echo_result_unit_ok(uint8_t *r) { (void)r; free_all(); }
__attribute__((export_name("cabi_post_golemite:types/api#echo-variant")))
void post_echo_variant(uint8_t *r) { (void)r; free_all(); }
__attribute__((export_name("cabi_post_golemite:types/api#echo-tuple")))
void post_echo_tuple(uint8_t *r) { (void)r; free_all(); }
__attribute__((export_name("cabi_post_golemite:types/api#echo-list-u64")))
void post_echo_list_u64(uint8_t *r) { (void)r; free_all(); }
__attribute__((export_name("cabi_post_golemite:types/api#echo-drawing")))
void post_echo_drawing(uint8_t *r) { (void)r; free_all(); }
__attribute__((export_name("cabi_post_golemite:types/api#describe")))
void post_describe(uint8_t *r) { (void)r; free_all(); }

// ---- scalars: each flattens to one core value in and out.

__attribute__((export_name("golemite:types/api#echo-bool")))
int32_t echo_bool(int32_t v) { return v != 0; }

__attribute__((export_name("golemite:types/api#echo-s8")))
int32_t echo_s8(int32_t v) { return (int8_t)v; }

__attribute__((export_name("golemite:types/api#echo-s16")))
int32_t echo_s16(int32_t v) { return (int16_t)v; }

__attribute__((export_name("golemite:types/api#echo-s32")))
int32_t echo_s32(int32_t v) { return v; }

__attribute__((export_name("golemite:types/api#echo-s64")))
int64_t echo_s64(int64_t v) { return v; }

__attribute__((export_name("golemite:types/api#echo-u8")))
int32_t echo_u8(int32_t v) { return (uint8_t)v; }

__attribute__((export_name("golemite:types/api#echo-u16")))
int32_t echo_u16(int32_t v) { return (uint16_t)v; }

__attribute__((export_name("golemite:types/api#echo-u32")))
int32_t echo_u32(int32_t v) { return v; }

__attribute__((export_name("golemite:types/api#echo-u64")))
int64_t echo_u64(int64_t v) { return v; }

__attribute__((export_name("golemite:types/api#echo-f32")))
float echo_f32(float v) { return v; }

__attribute__((export_name("golemite:types/api#echo-f64")))
double echo_f64(double v) { return v; }

__attribute__((export_name("golemite:types/api#echo-char")))
int32_t echo_char(int32_t v) { return v; }

// enum color (3 cases) and flags perms (3 bits) are both one i32.
__attribute__((export_name("golemite:types/api#echo-enum")))
int32_t echo_enum(int32_t v) { return v; }

__attribute__((export_name("golemite:types/api#echo-flags")))
int32_t echo_flags(int32_t v) { return v & 7; }

// result (no payloads) is a bare discriminant.
__attribute__((export_name("golemite:types/api#echo-unit-result")))
int32_t echo_unit_result(int32_t v) { return v; }

// ---- strings and lists: (ptr, len) in, the same (ptr, len) out via memory.

static uint8_t *ptr_len(uint32_t ptr, uint32_t len) {
  put_u32(0, ptr);
  put_u32(4, len);
  return ret;
}

__attribute__((export_name("golemite:types/api#echo-string")))
uint8_t *echo_string(uint32_t ptr, uint32_t len) { return ptr_len(ptr, len); }

__attribute__((export_name("golemite:types/api#echo-bytes")))
uint8_t *echo_bytes(uint32_t ptr, uint32_t len) { return ptr_len(ptr, len); }

__attribute__((export_name("golemite:types/api#echo-list-u64")))
uint8_t *echo_list_u64(uint32_t ptr, uint32_t len) { return ptr_len(ptr, len); }

// ---- options, results, variants: the discriminant is a u8 at offset 0 in
// memory and the payload follows at the payload's alignment.

// option<string>: flat (disc, ptr, len); memory disc@0, ptr@4, len@8.
__attribute__((export_name("golemite:types/api#echo-option")))
uint8_t *echo_option(int32_t disc, uint32_t ptr, uint32_t len) {
  memset(ret, 0, 12);
  put_u8(0, disc);
  if (disc) {
    put_u32(4, ptr);
    put_u32(8, len);
  }
  return ret;
}

// option<option<u32>>: flat (outer, inner, value); memory outer@0, inner@4,
// value@8 (the inner option is 8 bytes aligned to 4).
__attribute__((export_name("golemite:types/api#echo-nested-option")))
uint8_t *echo_nested_option(int32_t outer, int32_t inner, uint32_t value) {
  memset(ret, 0, 12);
  put_u8(0, outer);
  if (outer) {
    put_u8(4, inner);
    if (inner) {
      put_u32(8, value);
    }
  }
  return ret;
}

// result<u32, string>: flat (disc, u32-or-ptr, len); both payloads start at 4.
__attribute__((export_name("golemite:types/api#echo-result")))
uint8_t *echo_result(int32_t disc, uint32_t a, uint32_t b) {
  memset(ret, 0, 12);
  put_u8(0, disc);
  put_u32(4, a);
  if (disc) {
    put_u32(8, b);
  }
  return ret;
}

// result<_, string>: flat (disc, ptr, len); memory disc@0, ptr@4, len@8.
__attribute__((export_name("golemite:types/api#echo-result-unit-ok")))
uint8_t *echo_result_unit_ok(int32_t disc, uint32_t ptr, uint32_t len) {
  memset(ret, 0, 12);
  put_u8(0, disc);
  if (disc) {
    put_u32(4, ptr);
    put_u32(8, len);
  }
  return ret;
}

// shape flattens to (i32 disc, i64, i32): slot 1 joins f64 (circle), f32
// (rect.0) and i32 (named ptr) into i64; slot 2 joins f32 (rect.1) and i32
// (named len) into i32. In memory the payload sits at 8 (f64 alignment).
enum { SHAPE_NONE, SHAPE_CIRCLE, SHAPE_RECT, SHAPE_NAMED };

__attribute__((export_name("golemite:types/api#echo-variant")))
uint8_t *echo_variant(int32_t disc, int64_t a, int32_t b) {
  memset(ret, 0, 16);
  put_u8(0, disc);
  switch (disc) {
  case SHAPE_CIRCLE: {
    double r;
    memcpy(&r, &a, 8);
    put_f64(8, r);
    break;
  }
  case SHAPE_RECT: {
    uint32_t w_bits = (uint32_t)a;
    float w, h;
    memcpy(&w, &w_bits, 4);
    memcpy(&h, &b, 4);
    put_f32(8, w);
    put_f32(12, h);
    break;
  }
  case SHAPE_NAMED:
    put_u32(8, (uint32_t)a);
    put_u32(12, (uint32_t)b);
    break;
  default:
    break;
  }
  return ret;
}

// tuple<u8, s16, string, bool>: memory u8@0, s16@2, ptr@4, len@8, bool@12.
__attribute__((export_name("golemite:types/api#echo-tuple")))
uint8_t *echo_tuple(uint32_t a, int32_t b, uint32_t ptr, uint32_t len, int32_t d) {
  memset(ret, 0, 16);
  put_u8(0, a);
  put_u16(2, (uint32_t)b);
  put_u32(4, ptr);
  put_u32(8, len);
  put_u8(12, d != 0);
  return ret;
}

// drawing flattens to 11 values: name (2), lines (2), tags (2), palette (2),
// meta option (disc, ptr, len). Memory: name@0, lines@8, tags@16,
// palette@24, meta disc@32, meta list@36. Nested lines, tags and meta entries
// are already laid out in argument memory, so their buffers pass through.
__attribute__((export_name("golemite:types/api#echo-drawing")))
uint8_t *echo_drawing(uint32_t name_ptr, uint32_t name_len,
                      uint32_t lines_ptr, uint32_t lines_len,
                      uint32_t tags_ptr, uint32_t tags_len,
                      uint32_t palette_ptr, uint32_t palette_len,
                      int32_t meta_disc, uint32_t meta_ptr, uint32_t meta_len) {
  memset(ret, 0, 44);
  put_u32(0, name_ptr);
  put_u32(4, name_len);
  put_u32(8, lines_ptr);
  put_u32(12, lines_len);
  put_u32(16, tags_ptr);
  put_u32(20, tags_len);
  put_u32(24, palette_ptr);
  put_u32(28, palette_len);
  put_u8(32, meta_disc);
  if (meta_disc) {
    put_u32(36, meta_ptr);
    put_u32(40, meta_len);
  }
  return ret;
}

// ---- multi-parameter functions.

static size_t put_decimal(uint8_t *out, uint32_t v) {
  uint8_t digits[10];
  size_t n = 0;
  do {
    digits[n++] = (uint8_t)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (size_t i = 0; i < n; i++) {
    out[i] = digits[n - 1 - i];
  }
  return n;
}

// Returns "name:count:len(tags)". `ratio` only has to arrive intact: it sits
// between i32 parameters, so a mis-flattened f64 would shift `tags` and show
// up in the tag count.
__attribute__((export_name("golemite:types/api#describe")))
uint8_t *describe(uint8_t *name, uint32_t name_len, uint32_t count, double ratio,
                  uint8_t *tags, uint32_t tags_len) {
  (void)ratio;
  (void)tags;
  uint8_t *out = alloc(name_len + 1 + 10 + 1 + 10);
  memcpy(out, name, name_len);
  size_t n = name_len;
  out[n++] = ':';
  n += put_decimal(out + n, count);
  out[n++] = ':';
  n += put_decimal(out + n, tags_len);
  return ptr_len((uint32_t)(uintptr_t)out, (uint32_t)n);
}

// point flattens to (x, y); the result point is (x, y) in memory.
__attribute__((export_name("golemite:types/api#sum-point")))
uint8_t *sum_point(int32_t x, int32_t y, int32_t dx, int32_t dy) {
  // Wrapping arithmetic keeps s32 overflow defined instead of UB.
  put_u32(0, (uint32_t)x + (uint32_t)dx);
  put_u32(4, (uint32_t)y + (uint32_t)dy);
  return ret;
}
