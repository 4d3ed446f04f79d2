// The model-specific registers every vCPU starts with, in one list: KVM's reset values for
// these are not what a kernel entered directly in long mode expects from firmware.
#pragma once

#include <cstdint>
#include <vector>

namespace kvrun::vmm {

namespace msr {
inline constexpr uint32_t kTsc = 0x10;
inline constexpr uint32_t kSysenterCs = 0x174;
inline constexpr uint32_t kSysenterEsp = 0x175;
inline constexpr uint32_t kSysenterEip = 0x176;
inline constexpr uint32_t kMiscEnable = 0x1a0;
inline constexpr uint32_t kMtrrDefType = 0x2ff;
inline constexpr uint32_t kStar = 0xc0000081;
inline constexpr uint32_t kLstar = 0xc0000082;
inline constexpr uint32_t kCstar = 0xc0000083;
inline constexpr uint32_t kSyscallMask = 0xc0000084;
inline constexpr uint32_t kKernelGsBase = 0xc0000102;

inline constexpr uint64_t kMiscEnableFastStrings = 1ull << 0;
inline constexpr uint64_t kMtrrEnable = 1ull << 11;
inline constexpr uint64_t kMtrrTypeWriteBack = 6;
}  // namespace msr

struct MsrValue {
  uint32_t index;
  uint64_t value;
};

// System-call entry points cleared, TSC from zero, fast string operations on, and memory
// write-back by default (MTRRs enabled with WB as the default type, as firmware leaves it).
std::vector<MsrValue> boot_msrs();

}  // namespace kvrun::vmm
