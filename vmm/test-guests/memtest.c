// Writes an address-dependent pattern into the first and last word of every 4 KiB page the e820
// map reports as RAM in [2 MiB, 4 GiB) and reads it back. Catches a VMM that reports more RAM
// than it backs, maps two guest ranges onto one host page, or gets the e820 map wrong. Prints
// how much it tested so a test can check the amount against --memory. Two words a page, not
// every word: host memory is mapped in pages, and on a PVM host each guest access here costs
// microseconds (every word of 512 MiB took minutes).
#include "boot_params.h"

#define TEST_START 0x200000ull  // the guest image and its stack live below 2 MiB
#define IDENTITY_MAP_END 0x100000000ull
#define MIB (1ull << 20)
#define PAGE 4096ull

static uint64_t pattern(uint64_t addr) { return addr ^ 0xa5a5c3c35a5a3c3cull; }

static bool word_holds_pattern(uint64_t a) {
  uint64_t got = *(volatile uint64_t*)a;
  if (got == pattern(a)) return true;
  serial_puts("kvrun-test-guest: memtest mismatch at ");
  serial_put_hex(a);
  serial_puts(" read ");
  serial_put_hex(got);
  serial_puts(" expected ");
  serial_put_hex(pattern(a));
  serial_putc('\n');
  return false;
}

int guest_main(const uint8_t* bp) {
  uint64_t tested = 0;
  for (int i = 0; i < e820_count(bp); ++i) {
    struct e820_entry e = e820_get(bp, i);
    if (e.type != E820_TYPE_RAM || e.size == 0) continue;
    uint64_t start = e.addr < TEST_START ? TEST_START : e.addr;
    uint64_t end = e.addr + e.size;
    if (end < e.addr || end > IDENTITY_MAP_END) end = IDENTITY_MAP_END;  // overflow or >4 GiB
    start = (start + PAGE - 1) & ~(PAGE - 1);
    end &= ~(PAGE - 1);
    if (start >= end) continue;

    for (uint64_t page = start; page < end; page += PAGE) {
      *(volatile uint64_t*)page = pattern(page);
      *(volatile uint64_t*)(page + PAGE - 8) = pattern(page + PAGE - 8);
    }
    for (uint64_t page = start; page < end; page += PAGE) {
      if (!word_holds_pattern(page) || !word_holds_pattern(page + PAGE - 8)) return 1;
    }
    tested += end - start;
  }
  serial_puts("kvrun-test-guest: memtest tested=");
  serial_put_dec(tested / MIB);
  serial_puts(" MiB\n");
  return tested == 0 ? 1 : 0;  // no RAM above 2 MiB means the e820 map is wrong
}
