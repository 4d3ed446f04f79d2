// Pokes at guest-physical addresses and I/O ports no device claims, with every access width.
// Unclaimed reads must return all-ones or zero (what real hardware floats to) and the VMM must
// keep running; a VMM that crashes, stops or returns stale data fails here.
#include "boot_params.h"

// In the MMIO gap but away from the virtio-mmio slots at 0xd0000000, the IOAPIC (0xfec00000)
// and the local APIC (0xfee00000); plus 1 GiB, which is a hole unless --memory covers it.
static const uint64_t kAddresses[] = {0x40000000, 0xc0000000, 0xd8000000, 0xe0000000, 0xfffff000};
// Unassigned ports, including the one right after the exit port.
static const uint16_t kPorts[] = {0x100, 0x511, 0x1000, 0xc000, 0xfff0};

static void check(int* unexpected, const char* kind, uint64_t where, int bytes, uint64_t got) {
  uint64_t ones = bytes == 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
  if (got == 0 || got == ones) return;
  ++*unexpected;
  serial_puts("kvrun-test-guest: mmio-hostile unexpected ");
  serial_puts(kind);
  serial_putc(' ');
  serial_put_hex(where);
  serial_puts(" width=");
  serial_put_dec((uint64_t)bytes);
  serial_puts(" read ");
  serial_put_hex(got);
  serial_putc('\n');
}

static void poke_mmio(int* unexpected, uint64_t a) {
  volatile uint8_t* p8 = (volatile uint8_t*)a;
  volatile uint16_t* p16 = (volatile uint16_t*)(a + 0x10);
  volatile uint32_t* p32 = (volatile uint32_t*)(a + 0x20);
  volatile uint64_t* p64 = (volatile uint64_t*)(a + 0x40);
  check(unexpected, "mmio", a, 1, *p8);
  *p8 = 0x5a;
  *p16 = 0x1234;
  *p32 = 0xdeadbeef;
  *p64 = 0x0123456789abcdefull;
  check(unexpected, "mmio", a, 1, *p8);
  check(unexpected, "mmio", a + 0x10, 2, *p16);
  check(unexpected, "mmio", a + 0x20, 4, *p32);
  check(unexpected, "mmio", a + 0x40, 8, *p64);
}

static void poke_port(int* unexpected, uint16_t port) {
  check(unexpected, "port", port, 1, inb(port));
  outb(port, 0x5a);
  outw(port, 0x1234);
  outl(port, 0xdeadbeef);
  check(unexpected, "port", port, 1, inb(port));
  check(unexpected, "port", port, 2, inw(port));
  check(unexpected, "port", port, 4, inl(port));
}

int guest_main(const uint8_t* bp) {
  int poked = 0;
  int unexpected = 0;
  for (unsigned i = 0; i < sizeof kAddresses / sizeof kAddresses[0]; ++i) {
    if (e820_is_ram(bp, kAddresses[i], 0x1000)) continue;  // real RAM would echo our writes
    poke_mmio(&unexpected, kAddresses[i]);
    ++poked;
  }
  for (unsigned i = 0; i < sizeof kPorts / sizeof kPorts[0]; ++i) {
    poke_port(&unexpected, kPorts[i]);
    ++poked;
  }
  serial_puts("kvrun-test-guest: mmio-hostile poked=");
  serial_put_dec((uint64_t)poked);
  serial_puts(" unexpected=");
  serial_put_dec((uint64_t)unexpected);
  serial_putc('\n');
  return unexpected == 0 ? 0 : 1;
}
