// Fuzzes the virtio-mmio transport as a hostile driver sees it: any sequence of register
// writes and reads (status, features, queue selection and setup, QueueReady, resets)
// interleaved with queue notifications and writes of guest memory, against the real transport,
// the real event loop and a real device (virtio-rng or virtio-blk on a memfd). Guest RAM sits
// between guard regions (vmm/memory), so a ring access the transport or queue lets slip out of
// its rings faults instead of going unnoticed.
//
// Input: byte 0 picks the device (bit 0: blk), then operations until the input ends:
//   0 reg:u8 value:u32   write register kRegisters[reg % n]
//   1 reg:u8             read it
//   2 queue:u8           QueueNotify, then run the event loop once
//   3 offset:u16 len:u8 bytes   write guest memory in the window at the end of RAM
//   4                    negotiate: status 0, ACK, DRIVER, VERSION_1 (+ring features), FEATURES_OK
//   5 log2:u8            set up the selected queue with 2^(log2 % 9) entries, its rings at the
//                        end of RAM (the used ring last), and QueueReady=1
//   6                    DRIVER_OK
//   7 len:u8 flags:u8    publish a one-descriptor chain (a buffer in the window) on the queue
//                        the last op 5 set up
// Other opcodes are skipped. Multi-byte values are little-endian.
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "common/unique_fd.h"
#include "vmm/devices/virtio/blk.h"
#include "vmm/devices/virtio/event_loop.h"
#include "vmm/devices/virtio/mmio_transport.h"
#include "vmm/devices/virtio/rng.h"
#include "vmm/devices/virtio/virtio_spec.h"
#include "vmm/memory/guest_memory.h"

using namespace kvrun::vmm;
using namespace kvrun::vmm::virtio;

namespace {

constexpr uint64_t kMemoryBytes = 16ull << 20;
// The part of guest RAM inputs write and rings live in: its last 64 KiB, so that anything
// reaching past the used ring reaches the guard region after RAM.
constexpr uint64_t kWindowBytes = 64ull << 10;
constexpr GuestAddress kWindow = kMemoryBytes - kWindowBytes;
constexpr GuestAddress kBuffers = kWindow;  // op 7's buffers: the window's first 4 KiB
constexpr uint64_t kDiskBytes = 64 * 1024;

constexpr std::array<uint64_t, 18> kRegisters = {
    mmio::kDeviceFeaturesSel, mmio::kDriverFeatures,  mmio::kDriverFeaturesSel,
    mmio::kQueueSel,          mmio::kQueueNum,        mmio::kQueueReady,
    mmio::kQueueNotify,       mmio::kInterruptAck,    mmio::kStatus,
    mmio::kQueueDescLow,      mmio::kQueueDescHigh,   mmio::kQueueDriverLow,
    mmio::kQueueDriverHigh,   mmio::kQueueDeviceLow,  mmio::kQueueDeviceHigh,
    mmio::kConfigGeneration,  mmio::kInterruptStatus, mmio::kConfig,
};

GuestMemory& fuzz_memory() {
  static GuestMemory* memory = [] {
    spdlog::set_level(spdlog::level::off);  // hostile drivers are logged; not here
    return new GuestMemory(GuestMemory::create(kMemoryBytes));
  }();
  return *memory;
}

std::shared_ptr<VirtioDevice> make_device(bool blk) {
  if (!blk) return std::make_shared<Rng>();
  kvrun::UniqueFd fd(::memfd_create("kvrun-fuzz-disk", MFD_CLOEXEC));
  if (!fd || ::ftruncate(fd.get(), kDiskBytes) != 0) __builtin_trap();
  return std::make_shared<Blk>(std::move(fd), kDiskBytes, false, "fuzz-disk", true);
}

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  uint32_t u32() { return u16() | (static_cast<uint32_t>(u16()) << 16); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// The driver's view of one queue that op 5 laid out.
struct Ring {
  uint16_t size = 0;
  GuestAddress desc = 0, avail = 0, used = 0;
  uint16_t avail_idx = 0;
  uint16_t next_desc = 0;
};

class Driver {
 public:
  Driver(MmioTransport& transport, EventLoop& loop, GuestMemory& memory)
      : transport_(transport), loop_(loop), memory_(memory) {}

  void write(uint64_t offset, uint32_t value) {
    uint8_t bytes[4];
    std::memcpy(bytes, &value, 4);
    transport_.write(offset, bytes);
  }
  uint32_t read(uint64_t offset) {
    uint8_t bytes[4];
    transport_.read(offset, bytes);
    uint32_t value;
    std::memcpy(&value, bytes, 4);
    return value;
  }
  void notify(uint8_t queue) {
    write(mmio::kQueueNotify, queue);
    loop_.run_once(0);
  }
  void negotiate() {
    write(mmio::kStatus, 0);
    write(mmio::kStatus, kStatusAcknowledge);
    write(mmio::kStatus, kStatusAcknowledge | kStatusDriver);
    write(mmio::kDriverFeaturesSel, 0);
    write(mmio::kDriverFeatures, (1u << kFeatureRingIndirectDesc) | (1u << kFeatureRingEventIdx));
    write(mmio::kDriverFeaturesSel, 1);
    write(mmio::kDriverFeatures, 1u << (kFeatureVersion1 - 32));
    write(mmio::kStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
  }
  void setup_queue(uint8_t log2) {
    Ring ring;
    ring.size = static_cast<uint16_t>(1u << (log2 % 9));
    // Packed against the end of RAM: used ring last, each part as aligned as it must be.
    const uint64_t used_bytes = 6 + uint64_t{8} * ring.size;
    const uint64_t avail_bytes = 6 + uint64_t{2} * ring.size;
    ring.used = (kMemoryBytes - used_bytes) & ~uint64_t{3};
    ring.avail = (ring.used - avail_bytes) & ~uint64_t{1};
    ring.desc = (ring.avail - uint64_t{16} * ring.size) & ~uint64_t{15};
    write(mmio::kQueueNum, ring.size);
    write(mmio::kQueueDescLow, static_cast<uint32_t>(ring.desc));
    write(mmio::kQueueDescHigh, 0);
    write(mmio::kQueueDriverLow, static_cast<uint32_t>(ring.avail));
    write(mmio::kQueueDriverHigh, 0);
    write(mmio::kQueueDeviceLow, static_cast<uint32_t>(ring.used));
    write(mmio::kQueueDeviceHigh, 0);
    write(mmio::kQueueReady, 1);
    ring_ = ring;
  }
  void publish(uint8_t len, uint8_t flags) {
    if (ring_.size == 0) return;
    const uint16_t index = ring_.next_desc++ % ring_.size;
    const Descriptor desc{kBuffers + uint64_t{64} * (index % 64), len,
                          static_cast<uint16_t>(flags & (kDescFlagWrite | kDescFlagNext)), 0};
    memory_.write_obj(ring_.desc + uint64_t{16} * index, desc);
    memory_.write_obj<uint16_t>(ring_.avail + 4 + uint64_t{2} * (ring_.avail_idx % ring_.size),
                                index);
    memory_.write_obj<uint16_t>(ring_.avail + 2, ++ring_.avail_idx);
  }

 private:
  MmioTransport& transport_;
  EventLoop& loop_;
  GuestMemory& memory_;
  Ring ring_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static std::shared_ptr<VirtioDevice> rng = make_device(false);
  static std::shared_ptr<VirtioDevice> blk = make_device(true);
  GuestMemory& memory = fuzz_memory();
  std::memset(memory.slice(kWindow, kWindowBytes).data(), 0, kWindowBytes);

  Input input(data, size);
  const bool use_blk = (input.u8() & 1) != 0;
  EventLoop loop;
  MmioTransport transport(use_blk ? blk : rng, memory, loop, "fuzz");
  Driver driver(transport, loop, memory);
  // Bounded: every operation consumes at least its opcode byte.
  while (!input.empty()) {
    switch (input.u8() % 8) {
      case 0: {
        const uint64_t reg = kRegisters[input.u8() % kRegisters.size()];
        driver.write(reg, input.u32());
        if (reg == mmio::kQueueNotify) loop.run_once(0);
        break;
      }
      case 1:
        driver.read(kRegisters[input.u8() % kRegisters.size()]);
        break;
      case 2:
        driver.notify(input.u8());
        break;
      case 3: {
        const uint16_t offset = input.u16();
        const uint8_t len = input.u8();
        for (uint8_t i = 0; i < len && !input.empty(); ++i) {
          memory.write_obj<uint8_t>(kWindow + (offset + i) % kWindowBytes, input.u8());
        }
        break;
      }
      case 4:
        driver.negotiate();
        break;
      case 5:
        driver.setup_queue(input.u8());
        break;
      case 6:
        driver.write(mmio::kStatus,
                     kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
        break;
      case 7: {
        const uint8_t len = input.u8();
        driver.publish(len, input.u8());
        break;
      }
    }
  }
  driver.write(mmio::kStatus, 0);  // a reset at the end must leave nothing behind either
  return 0;
}
