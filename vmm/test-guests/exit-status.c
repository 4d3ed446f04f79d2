// Exits with a status no other path produces, so a test can tell the exit port worked.
#include "guest.h"

int guest_main(const uint8_t* boot_params) {
  (void)boot_params;
  serial_puts("kvrun-test-guest: exit-status 42\n");
  return 42;
}
