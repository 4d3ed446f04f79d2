// Resets through the i8042 keyboard controller, the way Linux's reboot=k does; the VMM must
// treat that as a clean stop (status 0).
#include "guest.h"

int guest_main(const uint8_t* boot_params) {
  (void)boot_params;
  serial_puts("kvrun-test-guest: reset\n");
  outb(I8042_COMMAND_PORT, I8042_CMD_RESET);
  // No exit-port fallback: a VMM that ignores the reset must fail the test by timing out.
  for (;;) cpu_pause();
}
