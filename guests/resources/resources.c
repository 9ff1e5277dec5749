// golemite:resources guest: exports a `counter` resource, the test bed for the
// executor's resource handles (own results, borrow parameters, drop).
//
// The canonical-ABI glue is written by hand because no bindings generator is
// available offline; only malloc/free/memcpy come from wasi-libc, so the core
// module imports nothing but the component's own resource intrinsics.
//
// Canonical ABI for a resource the component itself exports: the guest chooses
// the representation (here a pointer to a struct counter) and turns it into a
// handle with [resource-new] when it returns an own<counter>. A borrow<counter>
// parameter, including every method's `self`, arrives as that representation
// directly, because the resource type is defined by this very component. When
// the last handle is dropped the host calls [dtor] with the representation.

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/cabi_realloc.h"

__attribute__((import_module("[export]golemite:resources/api"), import_name("[resource-new]counter")))
extern int32_t counter_resource_new(int32_t rep);

struct counter {
  uint64_t value;
  size_t name_len;
  // The name lives in the same block, so the destructor frees one allocation.
  uint8_t name[];
};

// A string result is (ptr, len) in memory because two values exceed the
// canonical ABI's single flat result; one call is in flight at a time, so a
// static area is enough.
static uint32_t ret_area[2];

// The argument buffer came from cabi_realloc and now belongs to the guest; it
// is copied into the counter's block and freed here, so a counter never points
// into memory the host handed over.
static int32_t new_counter(uint8_t *name, size_t len) {
  struct counter *c = malloc(sizeof(struct counter) + len);
  if (c == NULL) {
    __builtin_trap();
  }
  c->value = 0;
  c->name_len = len;
  if (len != 0) {
    memcpy(c->name, name, len);
    free(name);
  }
  return counter_resource_new((int32_t)(uintptr_t)c);
}

__attribute__((export_name("golemite:resources/api#[constructor]counter")))
int32_t api_counter_constructor(uint8_t *name, size_t len) {
  return new_counter(name, len);
}

__attribute__((export_name("golemite:resources/api#[method]counter.inc")))
uint64_t api_counter_inc(struct counter *self, uint64_t by) {
  self->value += by;
  return self->value;
}

__attribute__((export_name("golemite:resources/api#[method]counter.get")))
uint64_t api_counter_get(struct counter *self) {
  return self->value;
}

// The result points into the counter itself: the host copies it out before
// anything else can run in this instance, so no post-return is needed.
__attribute__((export_name("golemite:resources/api#[method]counter.name")))
uint32_t *api_counter_name(struct counter *self) {
  ret_area[0] = (uint32_t)(uintptr_t)self->name;
  ret_area[1] = (uint32_t)self->name_len;
  return ret_area;
}

__attribute__((export_name("golemite:resources/api#[dtor]counter")))
void api_counter_dtor(struct counter *self) {
  free(self);
}

__attribute__((export_name("golemite:resources/api#make-counter")))
int32_t api_make_counter(uint8_t *name, size_t len) {
  return new_counter(name, len);
}

__attribute__((export_name("golemite:resources/api#total")))
uint64_t api_total(struct counter *c) {
  return c->value;
}
