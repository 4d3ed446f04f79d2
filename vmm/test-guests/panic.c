// A kernel panic as our guest kernel reports it (kernel-config/patches/0002-*): the panic line
// on serial, then PVPANIC_PANICKED to the pvpanic port, then a halt with interrupts off. The
// VMM must end the VM with 125 because of the port write, not because of the line.
#include "guest.h"

int guest_main(const uint8_t* boot_params) {
  (void)boot_params;
  serial_puts("Kernel panic - not syncing: test guest\n");
  // Like the kernel: use the port only if the device says it takes panics.
  if (!(inb(KVRUN_PVPANIC_PORT) & PVPANIC_PANICKED)) {
    serial_puts("kvrun-test-guest: panic: no pvpanic device\n");
    return 1;
  }
  outb(KVRUN_PVPANIC_PORT, PVPANIC_PANICKED);
  halt_forever();
}
