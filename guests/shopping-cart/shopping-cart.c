// golem:it shopping-cart guest, after Golem's demo worker: a per-worker cart
// that prints one line per operation and draws its order ids from
// wasi:random, so both stdout capture and random replay are exercised.
// The canonical-ABI glue is written by hand (no bindings generator offline);
// only malloc/memcpy/string functions come from wasi-libc, so the core module
// imports nothing but the WIT functions below.

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../include/cabi_realloc.h"

__attribute__((import_module("wasi:random/random@0.2.0"), import_name("get-random-u64")))
extern uint64_t wasi_random_get_random_u64(void);

__attribute__((import_module("wasi:cli/stdout@0.2.0"), import_name("get-stdout")))
extern int32_t wasi_cli_stdout_get_stdout(void);

__attribute__((import_module("wasi:io/streams@0.2.0"),
               import_name("[method]output-stream.blocking-write-and-flush")))
extern void wasi_io_streams_blocking_write_and_flush(int32_t stream, const uint8_t *buf,
                                                     size_t len, uint8_t *ret);

__attribute__((import_module("wasi:io/streams@0.2.0"),
               import_name("[resource-drop]output-stream")))
extern void wasi_io_streams_drop_output_stream(int32_t stream);

// blocking-write-and-flush accepts at most 4096 bytes per call (WASI 0.2.0).
#define MAX_WRITE 4096

// Every line gets a fresh stdout handle that is dropped at once, so no handle
// outlives the call that printed: replaying a call never depends on a handle
// made by an earlier one. A failed write is not retried (printing is best
// effort); its error handle is left to be freed with the instance rather than
// importing wasi:io/error just to drop it.
static void write_stdout(const uint8_t *buf, size_t len) {
  // result<_, stream-error>: tag byte, then the stream-error at offset 4.
  uint8_t ret[12] __attribute__((aligned(4)));
  int32_t out = wasi_cli_stdout_get_stdout();
  while (len > 0) {
    size_t n = len < MAX_WRITE ? len : MAX_WRITE;
    wasi_io_streams_blocking_write_and_flush(out, buf, n, ret);
    if (ret[0] != 0) {
      break;
    }
    buf += n;
    len -= n;
  }
  wasi_io_streams_drop_output_stream(out);
}

typedef struct {
  char *data;
  size_t len;
  size_t cap;
} line_t;

static void line_put(line_t *l, const char *s, size_t n) {
  if (l->len + n > l->cap) {
    size_t cap = l->cap ? l->cap : 128;
    while (cap < l->len + n) {
      cap *= 2;
    }
    char *grown = realloc(l->data, cap);
    if (grown == NULL) {
      __builtin_trap();
    }
    l->data = grown;
    l->cap = cap;
  }
  memcpy(l->data + l->len, s, n);
  l->len += n;
}

static void line_str(line_t *l, const char *s) {
  line_put(l, s, strlen(s));
}

static void line_u32(line_t *l, uint32_t v) {
  char digits[10];
  size_t n = 0;
  do {
    digits[sizeof digits - 1 - n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  line_put(l, digits + sizeof digits - n, n);
}

static void line_print(line_t *l) {
  line_put(l, "\n", 1);
  write_stdout((const uint8_t *)l->data, l->len);
  free(l->data);
}

// A string received from the host: the buffer was allocated through
// cabi_realloc and belongs to the guest from then on.
typedef struct {
  char *ptr;
  size_t len;
} str_t;

typedef struct {
  str_t product_id;
  str_t name;
  float price;
  uint32_t quantity;
} item_t;

static str_t user_id;
static item_t *items;
static size_t item_count;
static size_t item_cap;

static void str_free(str_t s) {
  if (s.len != 0) {
    free(s.ptr);
  }
}

static int str_eq(str_t a, const char *b, size_t b_len) {
  return a.len == b_len && (b_len == 0 || memcmp(a.ptr, b, b_len) == 0);
}

static item_t *find_item(const char *pid, size_t pid_len) {
  for (size_t i = 0; i < item_count; i++) {
    if (str_eq(items[i].product_id, pid, pid_len)) {
      return &items[i];
    }
  }
  return NULL;
}

static void clear_items(void) {
  for (size_t i = 0; i < item_count; i++) {
    str_free(items[i].product_id);
    str_free(items[i].name);
  }
  item_count = 0;
}

__attribute__((export_name("golem:it/api#initialize-cart")))
void api_initialize_cart(char *uid, size_t uid_len) {
  str_free(user_id);
  user_id = (str_t){uid, uid_len};
  clear_items();
  line_t l = {0};
  line_str(&l, "Initializing cart for user ");
  line_put(&l, uid, uid_len);
  line_print(&l);
}

__attribute__((export_name("golem:it/api#add-item")))
void api_add_item(char *pid, size_t pid_len, char *name, size_t name_len, float price,
                  uint32_t quantity) {
  line_t l = {0};
  line_str(&l, "Adding item ");
  line_put(&l, pid, pid_len);
  line_str(&l, " to the cart of user ");
  line_put(&l, user_id.ptr, user_id.len);
  line_print(&l);

  item_t *existing = find_item(pid, pid_len);
  if (existing != NULL) {
    // As in Golem's demo, adding a product that is already in the cart only
    // raises its quantity; the first name and price stay.
    existing->quantity += quantity;
    str_free((str_t){pid, pid_len});
    str_free((str_t){name, name_len});
    return;
  }
  if (item_count == item_cap) {
    size_t cap = item_cap ? item_cap * 2 : 8;
    item_t *grown = realloc(items, cap * sizeof *items);
    if (grown == NULL) {
      __builtin_trap();
    }
    items = grown;
    item_cap = cap;
  }
  items[item_count++] = (item_t){{pid, pid_len}, {name, name_len}, price, quantity};
}

__attribute__((export_name("golem:it/api#remove-item")))
void api_remove_item(char *pid, size_t pid_len) {
  line_t l = {0};
  line_str(&l, "Removing item ");
  line_put(&l, pid, pid_len);
  line_str(&l, " from the cart of user ");
  line_put(&l, user_id.ptr, user_id.len);
  line_print(&l);

  size_t kept = 0;
  for (size_t i = 0; i < item_count; i++) {
    if (str_eq(items[i].product_id, pid, pid_len)) {
      str_free(items[i].product_id);
      str_free(items[i].name);
    } else {
      items[kept++] = items[i];
    }
  }
  item_count = kept;
  str_free((str_t){pid, pid_len});
}

__attribute__((export_name("golem:it/api#update-item-quantity")))
void api_update_item_quantity(char *pid, size_t pid_len, uint32_t quantity) {
  line_t l = {0};
  line_str(&l, "Updating quantity of item ");
  line_put(&l, pid, pid_len);
  line_str(&l, " to ");
  line_u32(&l, quantity);
  line_str(&l, " in the cart of user ");
  line_put(&l, user_id.ptr, user_id.len);
  line_print(&l);

  item_t *existing = find_item(pid, pid_len);
  if (existing != NULL) {
    existing->quantity = quantity;
  }
  str_free((str_t){pid, pid_len});
}

static const char EMPTY_CART[] = "Empty cart";
static char order_id[16];

// checkout-result in memory: tag byte, then the string (ptr, len) at offset 4
// for either case (both payloads are a single string).
static uint32_t checkout_ret[3];

__attribute__((export_name("golem:it/api#checkout")))
uint32_t *api_checkout(void) {
  line_t l = {0};
  if (item_count == 0) {
    line_str(&l, "Checkout failed for user ");
    line_put(&l, user_id.ptr, user_id.len);
    line_str(&l, ": ");
    line_str(&l, EMPTY_CART);
    line_print(&l);
    checkout_ret[0] = 0;
    checkout_ret[1] = (uint32_t)(uintptr_t)EMPTY_CART;
    checkout_ret[2] = sizeof EMPTY_CART - 1;
    return checkout_ret;
  }
  static const char hex[] = "0123456789abcdef";
  uint64_t r = wasi_random_get_random_u64();
  for (int i = 15; i >= 0; i--) {
    order_id[i] = hex[r & 0xf];
    r >>= 4;
  }
  clear_items();
  line_str(&l, "Checkout for order ");
  line_put(&l, order_id, sizeof order_id);
  line_str(&l, " of user ");
  line_put(&l, user_id.ptr, user_id.len);
  line_print(&l);
  checkout_ret[0] = 1;
  checkout_ret[1] = (uint32_t)(uintptr_t)order_id;
  checkout_ret[2] = sizeof order_id;
  return checkout_ret;
}

// list<product-item> in memory: an array of 24-byte records
// {product-id: (ptr, len), name: (ptr, len), price: f32, quantity: u32}.
typedef struct {
  uint32_t pid_ptr, pid_len, name_ptr, name_len;
  float price;
  uint32_t quantity;
} item_abi_t;

_Static_assert(sizeof(item_abi_t) == 24, "product-item record layout");

static uint32_t contents_ret[2];

__attribute__((export_name("golem:it/api#get-cart-contents")))
uint32_t *api_get_cart_contents(void) {
  line_t l = {0};
  line_str(&l, "Getting cart contents for user ");
  line_put(&l, user_id.ptr, user_id.len);
  line_print(&l);

  // The records point at the cart's own strings: the host copies everything
  // before post-return, which frees only the array.
  item_abi_t *out = NULL;
  if (item_count != 0) {
    out = malloc(item_count * sizeof *out);
    if (out == NULL) {
      __builtin_trap();
    }
    for (size_t i = 0; i < item_count; i++) {
      out[i] = (item_abi_t){(uint32_t)(uintptr_t)items[i].product_id.ptr,
                            (uint32_t)items[i].product_id.len,
                            (uint32_t)(uintptr_t)items[i].name.ptr,
                            (uint32_t)items[i].name.len,
                            items[i].price,
                            items[i].quantity};
    }
  }
  contents_ret[0] = out != NULL ? (uint32_t)(uintptr_t)out : 4;
  contents_ret[1] = (uint32_t)item_count;
  return contents_ret;
}

__attribute__((export_name("cabi_post_golem:it/api#get-cart-contents")))
void api_get_cart_contents_post(uint32_t *ret) {
  if (ret[1] != 0) {
    free((void *)(uintptr_t)ret[0]);
  }
}
