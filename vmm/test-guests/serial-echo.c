// Echoes every byte the host writes to the VMM's stdin until 'q', then exits 0: proves the
// receive side of the UART (LSR.DR and RBR).
#include "guest.h"

int guest_main(const uint8_t* boot_params) {
  (void)boot_params;
  serial_puts("kvrun-test-guest: serial-echo ready\n");
  for (;;) {
    if (!(inb(COM1_BASE + UART_LSR) & UART_LSR_DR)) {
      cpu_pause();
      continue;
    }
    char c = (char)inb(COM1_BASE + UART_RBR);
    if (c == 'q') break;
    serial_putc(c);
  }
  serial_puts("\nkvrun-test-guest: serial-echo done\n");
  return 0;
}
