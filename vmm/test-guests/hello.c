// The smallest useful guest: proves entry, serial output and the exit port work.
#include "guest.h"

int guest_main(const uint8_t* boot_params) {
  (void)boot_params;
  serial_puts("kvrun-test-guest: hello\n");
  return 0;
}
