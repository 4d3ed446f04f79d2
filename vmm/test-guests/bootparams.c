// Checks the zero page the VMM hands to a Linux kernel: the setup header magics, a readable
// NUL-terminated command line, and an e820 map that covers the memory we were loaded into.
// Prints what it found so a test can compare it with what it asked the VMM for.
#include "boot_params.h"

#define CMDLINE_MAX 4096  // kvrun::vmm::layout::kCmdlineMaxSize, NUL included
#define IDENTITY_MAP_END 0x100000000ull
#define LOAD_ADDR 0x100000ull

static int fail(const char* why) {
  serial_puts("kvrun-test-guest: bootparams bad: ");
  serial_puts(why);
  serial_putc('\n');
  return 1;
}

int guest_main(const uint8_t* bp) {
  if ((uint64_t)bp == 0 || (uint64_t)bp >= IDENTITY_MAP_END) return fail("rsi is not mapped");
  if (read_le(bp + BP_BOOT_FLAG, 2) != BP_BOOT_FLAG_MAGIC) return fail("boot_flag != 0xaa55");
  if (read_le(bp + BP_HEADER, 4) != BP_HEADER_MAGIC) return fail("header != HdrS");

  uint64_t cmdline_addr =
      read_le(bp + BP_CMD_LINE_PTR, 4) | (read_le(bp + BP_EXT_CMD_LINE_PTR, 4) << 32);
  if (cmdline_addr == 0) return fail("cmd_line_ptr is 0");
  if (cmdline_addr + CMDLINE_MAX > IDENTITY_MAP_END) return fail("cmd_line_ptr above 4 GiB");
  const char* cmdline = (const char*)cmdline_addr;
  int len = 0;
  while (len < CMDLINE_MAX && cmdline[len] != '\0') ++len;
  if (len == CMDLINE_MAX) return fail("command line is not NUL-terminated");
  serial_puts("kvrun-test-guest: bootparams cmdline=\"");
  serial_puts(cmdline);
  serial_puts("\"\n");

  int raw_count = bp[BP_E820_ENTRIES];
  serial_puts("kvrun-test-guest: bootparams e820-entries=");
  serial_put_dec((uint64_t)raw_count);
  serial_putc('\n');
  if (raw_count == 0 || raw_count > BP_E820_MAX) return fail("e820 entry count out of range");
  for (int i = 0; i < raw_count; ++i) {
    struct e820_entry e = e820_get(bp, i);
    serial_puts("kvrun-test-guest: e820 ");
    serial_put_hex(e.addr);
    serial_puts("-");
    serial_put_hex(e.addr + e.size);
    serial_puts(" type=");
    serial_put_dec(e.type);
    serial_putc('\n');
  }
  if (!e820_is_ram(bp, LOAD_ADDR, 0x1000)) return fail("e820 has no RAM at 1 MiB");

  serial_puts("kvrun-test-guest: bootparams ok\n");
  return 0;
}
