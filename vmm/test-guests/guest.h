// Shared helpers for kvrun's test guests: port I/O, a polled COM1 writer, and the exit port.
//
// Test guests are freestanding 64-bit programs entered by start.S in long mode with interrupts
// off. They use no SSE (built with -mgeneral-regs-only) and no libc. Each guest defines
// guest_main(); its return value becomes kvrun-vmm's exit status through the exit port.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Must match kvrun::vmm::layout::kExitPort (vmm/boot/layout.h).
#define KVRUN_EXIT_PORT 0x510
// Must match kvrun::vmm::layout::kPvPanicPort; the event bit of Linux's uapi/misc/pvpanic.h.
#define KVRUN_PVPANIC_PORT 0x505
#define PVPANIC_PANICKED 0x01

#define COM1_BASE 0x3f8
#define UART_RBR 0          // receive buffer (read)
#define UART_THR 0          // transmit holding (write)
#define UART_LSR 5          // line status
#define UART_LSR_DR 0x01    // a received byte is waiting
#define UART_LSR_THRE 0x20  // transmitter can take a byte

#define I8042_COMMAND_PORT 0x64
#define I8042_CMD_RESET 0xfe

// Entry point of every guest, called by start.S with rsi (boot_params) as its argument.
int guest_main(const uint8_t* boot_params);

static inline void outb(uint16_t port, uint8_t value) {
  __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t value) {
  __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t value) {
  __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}
static inline uint8_t inb(uint16_t port) {
  uint8_t value;
  __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}
static inline uint16_t inw(uint16_t port) {
  uint16_t value;
  __asm__ volatile("inw %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}
static inline uint32_t inl(uint16_t port) {
  uint32_t value;
  __asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}

static inline void cpu_pause(void) { __asm__ volatile("pause" ::: "memory"); }

// Never returns: the guest stops here with interrupts off. A VMM that implements the exit port
// or reset never gets this far; one that does not is caught by the test's --timeout.
static inline __attribute__((noreturn)) void halt_forever(void) {
  for (;;) __asm__ volatile("cli; hlt" ::: "memory");
}

static inline __attribute__((noreturn)) void guest_exit(uint8_t status) {
  outb(KVRUN_EXIT_PORT, status);
  halt_forever();
}

static inline void serial_putc(char c) {
  // Bounded wait: an emulated UART is always ready, and a broken LSR must not hang the guest
  // silently — the byte is written anyway and the test sees whatever comes out.
  for (int i = 0; i < 100000 && !(inb(COM1_BASE + UART_LSR) & UART_LSR_THRE); ++i) cpu_pause();
  outb(COM1_BASE + UART_THR, (uint8_t)c);
}

static inline void serial_puts(const char* s) {
  while (*s != '\0') serial_putc(*s++);
}

static inline void serial_put_dec(uint64_t value) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) serial_putc(digits[--n]);
}

static inline void serial_put_hex(uint64_t value) {
  serial_puts("0x");
  bool started = false;
  for (int shift = 60; shift >= 0; shift -= 4) {
    unsigned nibble = (unsigned)(value >> shift) & 0xf;
    if (nibble != 0 || started || shift == 0) {
      serial_putc("0123456789abcdef"[nibble]);
      started = true;
    }
  }
}
