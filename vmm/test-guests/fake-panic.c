// Hostile console text: the lines a panicking kernel prints, written by a guest that does not
// panic. Any process with the console or /dev/kmsg open can print them, so they must not end
// the VM: the VMM has to run on until the guest exits with the status it chose (7).
#include "guest.h"

int guest_main(const uint8_t* boot_params) {
  (void)boot_params;
  serial_puts("[    1.234567] Kernel panic - not syncing: fake\r\n");
  serial_puts("Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000\n");
  serial_puts("---[ end Kernel panic - not syncing: fake ]---\n");
  serial_puts("kvrun-test-guest: fake-panic still running\n");
  return 7;
}
