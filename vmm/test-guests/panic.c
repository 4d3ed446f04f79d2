// Prints Linux's panic line and stops with interrupts off, exactly like a panicked kernel with
// panic=0: the VMM must notice the line on serial and end the VM itself.
#include "guest.h"

int guest_main(const uint8_t* boot_params) {
  (void)boot_params;
  serial_puts("Kernel panic - not syncing: test guest\n");
  halt_forever();
}
