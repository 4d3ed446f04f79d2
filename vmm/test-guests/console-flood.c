// Floods the console: 256 KiB of text with `rep outsb` (still one VM exit per byte), as fast as
// the VMM takes it and without the UART's LSR handshake. The VMM must drop what is over its rate
// limit instead of passing it all to the host. Small because an exit is slow on PVM hosts
// (about 25 us a byte); on hardware KVM a guest floods at megabytes per second per vCPU.
#include "guest.h"

#define FLOOD_BYTES (256u << 10)
#define CHUNK 4096u

static char chunk[CHUNK];

static void outsb(uint16_t port, const void* data, uint64_t count) {
  __asm__ volatile("rep outsb" : "+S"(data), "+c"(count) : "d"(port) : "memory");
}

int guest_main(const uint8_t* boot_params) {
  (void)boot_params;
  static const char line[] = "kvrun-test-guest: console-flood 0123456789abcdefghijklmnopqrstuv\n";
  const uint64_t line_len = sizeof line - 1;  // 64
  for (uint64_t i = 0; i < CHUNK; ++i) chunk[i] = line[i % line_len];
  serial_puts("kvrun-test-guest: console-flood start\n");
  for (uint64_t sent = 0; sent < FLOOD_BYTES; sent += CHUNK)
    outsb(COM1_BASE + UART_THR, chunk, CHUNK);
  serial_puts("\nkvrun-test-guest: console-flood done\n");
  return 0;
}
