// Spins forever without halting, so only the VMM's --timeout or a signal can end the VM.
// The line first lets a test know the vCPU is running before it sends a signal.
#include "guest.h"

int guest_main(const uint8_t* boot_params) {
  (void)boot_params;
  serial_puts("kvrun-test-guest: hang\n");
  for (;;) cpu_pause();
}
