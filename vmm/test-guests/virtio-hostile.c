// A hostile virtio driver for the VMM's virtio-rng (kvrun-vmm --rng --memory 16): sets the
// queue up properly with its rings at the very end of guest RAM, then, while the device runs,
// disables the queue, gives it a new size (large, then 0) and new addresses and notifies again.
// A transport that lets a live queue take the new size indexes its old rings with it: it
// writes used entries past the used ring, past the end of guest RAM, into host memory. The
// guest checks that the device ignored all of it and kept serving the rings it was given.
#include "boot_params.h"
#include "virtio_mmio.h"

#define RAM_END (16ull << 20)  // --memory 16
#define USED (RAM_END - 24)    // 2-entry used ring: 22 bytes, the last 2 bytes of RAM spare
#define AVAIL (RAM_END - 40)
#define DESC (RAM_END - 96)
#define CANARY (RAM_END - 2)
#define BUFFER 0x200000ull
#define ELSEWHERE 0x300000ull  // where the hostile driver "moves" the descriptor table

static uintptr_t mmio;

static uint32_t rd(uint32_t offset) { return virtio_read(mmio, offset); }
static void wr(uint32_t offset, uint32_t value) { virtio_write(mmio, offset, value); }
static volatile uint16_t* u16_at(uint64_t addr) { return (volatile uint16_t*)addr; }

static int fail(const char* why) {
  serial_puts("kvrun-test-guest: virtio-hostile bad: ");
  serial_puts(why);
  serial_putc('\n');
  return 1;
}

// The first "virtio_mmio.device=<size>@<hex address>:<irq>" on the command line.
static uint64_t find_device(const uint8_t* bp) {
  const char* p = (const char*)(read_le(bp + BP_CMD_LINE_PTR, 4));
  static const char key[] = "virtio_mmio.device=";
  for (; *p != '\0'; ++p) {
    int i = 0;
    while (key[i] != '\0' && p[i] == key[i]) ++i;
    if (key[i] != '\0') continue;
    p += i;
    while (*p != '\0' && *p != '@') ++p;
    if (*p != '@' || p[1] != '0' || p[2] != 'x') return 0;
    uint64_t addr = 0;
    for (p += 3;; ++p) {
      const char c = *p;
      if (c >= '0' && c <= '9')
        addr = addr * 16 + (uint64_t)(c - '0');
      else if (c >= 'a' && c <= 'f')
        addr = addr * 16 + (uint64_t)(c - 'a' + 10);
      else
        break;
    }
    return addr;
  }
  return 0;
}

static void descriptor(uint64_t table, int index, uint64_t addr, uint32_t len, uint16_t flags) {
  volatile uint8_t* d = (volatile uint8_t*)(table + 16ull * (uint64_t)index);
  *(volatile uint64_t*)d = addr;
  *(volatile uint32_t*)(d + 8) = len;
  *(volatile uint16_t*)(d + 12) = flags;
  *(volatile uint16_t*)(d + 14) = 0;
}

// Publishes `count` more buffers (entries alternate between the ring's two slots, heads 0 and
// 1), notifies, and waits for the device to hand back `expect_used` in all.
static int serve(uint16_t* avail_idx, int count, uint16_t expect_used) {
  for (int i = 0; i < count; ++i) {
    *u16_at(AVAIL + 4 + 2ull * (*avail_idx % 2)) = (uint16_t)(*avail_idx % 2);
    ++*avail_idx;
  }
  __asm__ volatile("" ::: "memory");
  *u16_at(AVAIL + 2) = *avail_idx;
  wr(REG_QUEUE_NOTIFY, 0);
  for (uint64_t spin = 0; spin < 200000000ull; ++spin) {
    if (*u16_at(USED + 2) == expect_used) return 0;
    cpu_pause();
  }
  return -1;
}

int guest_main(const uint8_t* bp) {
  const uint64_t base = find_device(bp);
  if (base == 0) return fail("no virtio_mmio.device= on the command line");
  mmio = (uintptr_t)base;
  if (rd(REG_MAGIC) != VIRTIO_MMIO_MAGIC || rd(REG_VERSION) != 2 || rd(REG_DEVICE_ID) != 4)
    return fail("first device is not a virtio-mmio v2 rng");

  wr(REG_STATUS, 0);
  wr(REG_STATUS, STATUS_ACK);
  wr(REG_STATUS, STATUS_ACK | STATUS_DRIVER);
  wr(REG_DRIVER_FEATURES_SEL, 1);
  wr(REG_DRIVER_FEATURES, FEATURE_VERSION_1_HIGH);
  wr(REG_DRIVER_FEATURES_SEL, 0);
  wr(REG_DRIVER_FEATURES, 0);
  wr(REG_STATUS, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK);
  if ((rd(REG_STATUS) & STATUS_FEATURES_OK) == 0) return fail("features refused");
  wr(REG_QUEUE_SEL, 0);
  if (rd(REG_QUEUE_NUM_MAX) < 2) return fail("queue too small");
  wr(REG_QUEUE_NUM, 2);
  virtio_write64(mmio, REG_QUEUE_DESC, DESC);
  virtio_write64(mmio, REG_QUEUE_DRIVER, AVAIL);
  virtio_write64(mmio, REG_QUEUE_DEVICE, USED);
  wr(REG_QUEUE_READY, 1);
  descriptor(DESC, 0, BUFFER, 8, DESC_F_WRITE);
  descriptor(DESC, 1, BUFFER + 8, 8, DESC_F_WRITE);
  *u16_at(CANARY) = 0xc0de;
  wr(REG_STATUS, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
  uint16_t avail_idx = 0;
  if (serve(&avail_idx, 2, 2) != 0) return fail("the device did not serve the set-up queue");

  // The attack: the live queue "disabled", resized and moved, then used again.
  wr(REG_QUEUE_READY, 0);
  wr(REG_QUEUE_NUM, 0x8000);
  wr(REG_QUEUE_DESC, (uint32_t)ELSEWHERE);
  if (serve(&avail_idx, 2, 4) != 0) return fail("queue stopped after a resize attempt");
  wr(REG_QUEUE_READY, 0);
  wr(REG_QUEUE_NUM, 0);
  if (serve(&avail_idx, 2, 6) != 0) return fail("queue stopped after a size-0 attempt");

  if (rd(REG_QUEUE_READY) != 1) return fail("QueueReady=0 took effect on a live queue");
  if (rd(REG_QUEUE_DESC) != (uint32_t)DESC) return fail("a live queue moved");
  if (rd(REG_STATUS) & STATUS_NEEDS_RESET) return fail("device needs reset");
  if (*u16_at(CANARY) != 0xc0de) return fail("the device wrote past the used ring");
  wr(REG_STATUS, 0);
  if (rd(REG_QUEUE_READY) != 0 || rd(REG_STATUS) != 0) return fail("reset left state behind");

  serial_puts("kvrun-test-guest: virtio-hostile ok\n");
  return 0;
}
