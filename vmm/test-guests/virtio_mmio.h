// The virtio-mmio (version 2) registers, status bits and descriptor flags for test guests that
// drive a device themselves (virtio-hostile, vsock-stream), and plain register access.
#pragma once

#include "guest.h"

#define VIRTIO_MMIO_MAGIC 0x74726976  // "virt"

#define REG_MAGIC 0x000
#define REG_VERSION 0x004
#define REG_DEVICE_ID 0x008
#define REG_DEVICE_FEATURES 0x010
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_DRIVER_FEATURES 0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL 0x030
#define REG_QUEUE_NUM_MAX 0x034
#define REG_QUEUE_NUM 0x038
#define REG_QUEUE_READY 0x044
#define REG_QUEUE_NOTIFY 0x050
#define REG_STATUS 0x070
#define REG_QUEUE_DESC 0x080    // low word; the high word follows
#define REG_QUEUE_DRIVER 0x090  // low word; the high word follows
#define REG_QUEUE_DEVICE 0x0a0  // low word; the high word follows
#define REG_CONFIG 0x100

#define STATUS_ACK 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_NEEDS_RESET 64
#define FEATURE_VERSION_1_HIGH 1  // bit 32: bit 0 of the high word

#define DESC_F_NEXT 1
#define DESC_F_WRITE 2

static inline uint32_t virtio_read(uintptr_t base, uint32_t offset) {
  return *(volatile uint32_t*)(base + offset);
}
static inline void virtio_write(uintptr_t base, uint32_t offset, uint32_t value) {
  *(volatile uint32_t*)(base + offset) = value;
}
static inline void virtio_write64(uintptr_t base, uint32_t offset, uint64_t value) {
  virtio_write(base, offset, (uint32_t)value);
  virtio_write(base, offset + 4, (uint32_t)(value >> 32));
}
