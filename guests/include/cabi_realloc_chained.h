// The canonical ABI's allocator for C guests that free what the host allocated all
// at once: every cabi_realloc block is chained, and free_all() releases the chain
// (after a call's result was read, or after each copied-out read).
// Included by exactly one source file of a guest.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct block {
  struct block *next;
  // Keeps the payload at malloc's 16-byte alignment, the most any WIT type needs.
  uint8_t pad[12];
};

static struct block *blocks;

// A chained block of `size` bytes (for results a guest builds as well).
static void *alloc(size_t size) {
  struct block *b = malloc(sizeof(struct block) + size);
  if (b == NULL) {
    __builtin_trap();
  }
  b->next = blocks;
  blocks = b;
  return b + 1;
}

static void free_all(void) {
  while (blocks != NULL) {
    struct block *next = blocks->next;
    free(blocks);
    blocks = next;
  }
}

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
  // A zero-sized buffer is never read: `align` is a non-null, aligned address
  // that costs nothing and is not in the chain.
  if (new_size == 0) {
    return (void *)align;
  }
  void *out = alloc(new_size);
  if (old != NULL) {
    // The old block stays chained and is freed with the rest.
    memcpy(out, old, old_size < new_size ? old_size : new_size);
  }
  return out;
}
