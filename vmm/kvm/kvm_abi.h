// KVM structures that end in a flexible array, spelled for C++.
//
// <linux/kvm.h> declares them with __DECLARE_FLEX_ARRAY, which in the uapi headers we build
// against wraps the array in a struct holding an empty struct. An empty struct is 0 bytes in
// C but 1 byte in C++, so under C++ `struct kvm_cpuid2` is 12 bytes with its entries at
// offset 12 instead of 8: the wrong layout, and — since the size is encoded in the ioctl
// number — the wrong ioctl (KVM answers EINVAL). So kvrun uses these headers, laid out as the
// kernel's C ABI has them, and ioctl numbers computed from them.
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace kvrun::vmm::kvm_abi {

// struct kvm_cpuid2 without its entries; kvm_cpuid_entry2 values follow it.
struct Cpuid2Header {
  uint32_t nent;
  uint32_t padding;
};

// struct kvm_msrs without its entries; kvm_msr_entry values follow it.
struct MsrsHeader {
  uint32_t nmsrs;
  uint32_t pad;
};

static_assert(sizeof(Cpuid2Header) == 8 && sizeof(MsrsHeader) == 8);
static_assert(sizeof(kvm_cpuid_entry2) == 40 && alignof(kvm_cpuid_entry2) <= 8);
static_assert(sizeof(kvm_msr_entry) == 16 && alignof(kvm_msr_entry) <= 8);

inline constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, Cpuid2Header);
inline constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, Cpuid2Header);
inline constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, MsrsHeader);
inline constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);

// A header followed by `count` entries in one 8-byte-aligned buffer, ready for an ioctl.
template <typename Header, typename Entry>
class FlexBuffer {
 public:
  explicit FlexBuffer(size_t count)
      : words_((sizeof(Header) + count * sizeof(Entry) + 7) / 8), count_(count) {}

  Header& header() { return *reinterpret_cast<Header*>(words_.data()); }
  std::span<Entry> entries() {
    return {reinterpret_cast<Entry*>(reinterpret_cast<std::byte*>(words_.data()) + sizeof(Header)),
            count_};
  }
  void* data() { return words_.data(); }

 private:
  std::vector<uint64_t> words_;
  size_t count_;
};

}  // namespace kvrun::vmm::kvm_abi
