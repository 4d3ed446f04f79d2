// Reports what the VMM exposes through CPUID: the hypervisor-present bit (leaf 1, ECX bit 31)
// and the hypervisor signature in leaf 0x40000000 ("KVMKVMKVM" under KVM). Linux relies on both
// to pick paravirtual clocks, so a VMM that drops them boots slower.
#include "guest.h"

static void cpuid(uint32_t leaf, uint32_t* a, uint32_t* b, uint32_t* c, uint32_t* d) {
  __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static void put_register_chars(uint32_t reg) {
  for (int i = 0; i < 4; ++i) {
    char ch = (char)(reg >> (8 * i));
    if (ch >= 0x20 && ch < 0x7f) serial_putc(ch);  // the signature is NUL-padded
  }
}

int guest_main(const uint8_t* boot_params) {
  (void)boot_params;
  uint32_t a, b, c, d;
  cpuid(1, &a, &b, &c, &d);
  bool hypervisor = (c >> 31) & 1;
  serial_puts("kvrun-test-guest: cpuid hypervisor=");
  serial_putc(hypervisor ? '1' : '0');
  serial_puts(" signature=");
  if (hypervisor) {
    cpuid(0x40000000, &a, &b, &c, &d);
    put_register_chars(b);
    put_register_chars(c);
    put_register_chars(d);
    serial_puts(" max-leaf=");
    serial_put_hex(a);
  }
  serial_putc('\n');
  return hypervisor ? 0 : 1;
}
