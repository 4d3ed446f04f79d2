// Numbers from the virtio 1.2 specification that the transport, the queue and the devices
// share: device types, feature bits, device status bits, ring flags, virtio-mmio registers.
#pragma once

#include <cstdint>

namespace kvrun::vmm::virtio {

// §5: device types (the virtio-mmio DeviceID register).
enum class DeviceType : uint32_t {
  kNet = 1,
  kBlock = 2,
  kConsole = 3,
  kEntropy = 4,
  kVsock = 19,
};

// §6: feature bits that belong to the transport and the rings, not to one device type.
inline constexpr unsigned kFeatureRingIndirectDesc = 28;
inline constexpr unsigned kFeatureRingEventIdx = 29;
inline constexpr unsigned kFeatureVersion1 = 32;
inline constexpr unsigned kFeatureAccessPlatform = 33;

constexpr uint64_t feature_bit(unsigned bit) { return uint64_t{1} << bit; }

// §2.1: device status field.
inline constexpr uint32_t kStatusAcknowledge = 1;
inline constexpr uint32_t kStatusDriver = 2;
inline constexpr uint32_t kStatusDriverOk = 4;
inline constexpr uint32_t kStatusFeaturesOk = 8;
inline constexpr uint32_t kStatusDeviceNeedsReset = 64;
inline constexpr uint32_t kStatusFailed = 128;

// §2.7: split virtqueue layout and flags.
inline constexpr uint16_t kDescFlagNext = 1;
inline constexpr uint16_t kDescFlagWrite = 2;
inline constexpr uint16_t kDescFlagIndirect = 4;
inline constexpr uint16_t kAvailFlagNoInterrupt = 1;
inline constexpr uint16_t kUsedFlagNoNotify = 1;
inline constexpr uint32_t kMaxQueueSize = 32768;

struct Descriptor {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
static_assert(sizeof(Descriptor) == 16);

struct UsedElement {
  uint32_t id;
  uint32_t len;
};
static_assert(sizeof(UsedElement) == 8);

// §4.2.2: virtio-mmio register offsets (version 2, "modern").
namespace mmio {
inline constexpr uint32_t kMagic = 0x74726976;  // "virt"
inline constexpr uint32_t kVersion = 2;
// Any value works; the guest only shows it. "KVRN" in little-endian byte order.
inline constexpr uint32_t kVendorId = 0x4e52564b;

inline constexpr uint64_t kMagicValue = 0x000;
inline constexpr uint64_t kVersionReg = 0x004;
inline constexpr uint64_t kDeviceId = 0x008;
inline constexpr uint64_t kVendorIdReg = 0x00c;
inline constexpr uint64_t kDeviceFeatures = 0x010;
inline constexpr uint64_t kDeviceFeaturesSel = 0x014;
inline constexpr uint64_t kDriverFeatures = 0x020;
inline constexpr uint64_t kDriverFeaturesSel = 0x024;
inline constexpr uint64_t kQueueSel = 0x030;
inline constexpr uint64_t kQueueNumMax = 0x034;
inline constexpr uint64_t kQueueNum = 0x038;
inline constexpr uint64_t kQueueReady = 0x044;
inline constexpr uint64_t kQueueNotify = 0x050;
inline constexpr uint64_t kInterruptStatus = 0x060;
inline constexpr uint64_t kInterruptAck = 0x064;
inline constexpr uint64_t kStatus = 0x070;
inline constexpr uint64_t kQueueDescLow = 0x080;
inline constexpr uint64_t kQueueDescHigh = 0x084;
inline constexpr uint64_t kQueueDriverLow = 0x090;
inline constexpr uint64_t kQueueDriverHigh = 0x094;
inline constexpr uint64_t kQueueDeviceLow = 0x0a0;
inline constexpr uint64_t kQueueDeviceHigh = 0x0a4;
inline constexpr uint64_t kShmSel = 0x0ac;
inline constexpr uint64_t kShmLenLow = 0x0b0;
inline constexpr uint64_t kShmLenHigh = 0x0b4;
inline constexpr uint64_t kShmBaseLow = 0x0b8;
inline constexpr uint64_t kShmBaseHigh = 0x0bc;
inline constexpr uint64_t kConfigGeneration = 0x0fc;
inline constexpr uint64_t kConfig = 0x100;
// One 4 KiB window per device: registers, then up to 3840 bytes of device config space.
inline constexpr uint64_t kWindowSize = 0x1000;

// InterruptStatus bits.
inline constexpr uint32_t kInterruptUsedBuffer = 1;
inline constexpr uint32_t kInterruptConfigChange = 2;
}  // namespace mmio

}  // namespace kvrun::vmm::virtio
