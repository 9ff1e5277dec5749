// The canonical ABI's allocator for C guests that keep what the host allocates:
// plain malloc/realloc, freed by the guest (or its post-return) when done with it.
// Included by exactly one source file of a guest.
#include <stddef.h>
#include <stdlib.h>

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *ptr, size_t old_size, size_t align, size_t new_size) {
  (void)old_size;
  // A zero-sized buffer is never read; handing back `align` gives a non-null,
  // aligned address without allocating, and callers know not to free it.
  if (new_size == 0) {
    free(ptr);
    return (void *)align;
  }
  void *out = realloc(ptr, new_size);
  if (out == NULL) {
    __builtin_trap();
  }
  return out;
}
