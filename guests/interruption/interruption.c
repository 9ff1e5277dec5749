// golemite:interruption guest: long-running calls for the executor's
// interrupt, suspend and resume paths. `run` makes progress visible on stdout
// between sleeps; `spin` never returns and never calls out, so only epoch
// interruption can stop it.
// The canonical-ABI glue is written by hand (no bindings generator offline);
// nothing from wasi-libc is needed, so the core module imports only the WIT
// functions below.

#include <stddef.h>
#include <stdint.h>

__attribute__((import_module("wasi:clocks/monotonic-clock@0.2.0"),
               import_name("subscribe-duration")))
extern int32_t wasi_clocks_monotonic_clock_subscribe_duration(uint64_t nanos);

__attribute__((import_module("wasi:io/poll@0.2.0"), import_name("[method]pollable.block")))
extern void wasi_io_poll_pollable_block(int32_t pollable);

__attribute__((import_module("wasi:io/poll@0.2.0"), import_name("[resource-drop]pollable")))
extern void wasi_io_poll_drop_pollable(int32_t pollable);

__attribute__((import_module("wasi:cli/stdout@0.2.0"), import_name("get-stdout")))
extern int32_t wasi_cli_stdout_get_stdout(void);

__attribute__((import_module("wasi:io/streams@0.2.0"),
               import_name("[method]output-stream.blocking-write-and-flush")))
extern void wasi_io_streams_blocking_write_and_flush(int32_t stream, const uint8_t *buf,
                                                     size_t len, uint8_t *ret);

__attribute__((import_module("wasi:io/streams@0.2.0"),
               import_name("[resource-drop]output-stream")))
extern void wasi_io_streams_drop_output_stream(int32_t stream);

// Lines here are a few bytes, well under blocking-write-and-flush's 4096-byte
// limit, so one write per line suffices. A fresh stdout handle per line means
// no handle outlives the call that printed. A failed write is ignored
// (printing is best effort); its error handle is left to be freed with the
// instance rather than importing wasi:io/error just to drop it.
static void write_stdout(const uint8_t *buf, size_t len) {
  // result<_, stream-error>: tag byte, then the stream-error at offset 4.
  uint8_t ret[12] __attribute__((aligned(4)));
  int32_t out = wasi_cli_stdout_get_stdout();
  wasi_io_streams_blocking_write_and_flush(out, buf, len, ret);
  wasi_io_streams_drop_output_stream(out);
}

static void sleep_ms(uint32_t ms) {
  int32_t p = wasi_clocks_monotonic_clock_subscribe_duration((uint64_t)ms * 1000000u);
  wasi_io_poll_pollable_block(p);
  wasi_io_poll_drop_pollable(p);
}

// Prints "step <i>\n" and sleeps after each step, so an interrupted call
// shows how far it got; the result (1 + 2 + ... + steps) shows that every
// step ran, also when the call was replayed after a restart.
__attribute__((export_name("golemite:interruption/api#run")))
uint64_t api_run(uint32_t steps, uint32_t sleep) {
  uint64_t sum = 0;
  for (uint32_t i = 1; i <= steps && i != 0; i++) {
    uint8_t line[16] = "step ";
    size_t len = 5;
    char digits[10];
    size_t n = 0;
    uint32_t v = i;
    do {
      digits[n++] = (char)('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0) {
      line[len++] = (uint8_t)digits[--n];
    }
    line[len++] = '\n';
    write_stdout(line, len);
    sleep_ms(sleep);
    sum += i;
  }
  return sum;
}

// The volatile store is a side effect on every iteration, so the loop can be
// neither removed nor treated as undefined; wasmtime's epoch checks at the
// loop header are what end it.
static volatile uint64_t spins;

__attribute__((export_name("golemite:interruption/api#spin")))
uint64_t api_spin(void) {
  for (;;) {
    spins = spins + 1;
  }
}
