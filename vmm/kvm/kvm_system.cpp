#include "vmm/kvm/kvm_system.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>

#include "common/error.h"
#include "vmm/kvm/kvm_abi.h"

namespace kvrun::vmm {

namespace {

struct Capability {
  int id;
  const char* name;
};

// What kvrun needs from KVM and why: in-kernel PIC/IOAPIC/LAPIC and PIT (we emulate no
// interrupt controller or timer), user memory slots, HLT handled in the kernel, extended
// CPUID, irqfd/ioeventfd for virtio, kicking vCPUs out of KVM_RUN without races, and MP state
// so secondary vCPUs wait for INIT/SIPI in the kernel.
constexpr Capability kRequired[] = {
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_HLT, "KVM_CAP_HLT"},
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
};

// Large enough for every leaf of current CPUs; grown on E2BIG all the same.
constexpr uint32_t kInitialCpuidEntries = 128;
constexpr uint32_t kMaxCpuidEntries = 4096;

}  // namespace

KvmSystem KvmSystem::open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) throw_errno(path);
  KvmSystem kvm(std::move(fd), path);

  const int version = ::ioctl(kvm.fd(), KVM_GET_API_VERSION, 0);
  if (version < 0) throw_errno(path + ": KVM_GET_API_VERSION");
  if (version != kApiVersion) {
    throw Error(path + ": KVM API version " + std::to_string(version) + ", need " +
                std::to_string(kApiVersion));
  }
  for (const auto& cap : kRequired) {
    if (kvm.check_extension(cap.id) <= 0) throw Error(path + ": KVM lacks " + cap.name);
  }
  spdlog::debug("{}: KVM API {}, vCPU mmap size {}", path, version, kvm.vcpu_mmap_size());
  return kvm;
}

int KvmSystem::check_extension(int capability) const {
  const int ret = ::ioctl(fd(), KVM_CHECK_EXTENSION, capability);
  return ret < 0 ? 0 : ret;
}

size_t KvmSystem::vcpu_mmap_size() const {
  const int size = ::ioctl(fd(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (size < 0) throw_errno(path_ + ": KVM_GET_VCPU_MMAP_SIZE");
  if (static_cast<size_t>(size) < sizeof(kvm_run)) {
    throw Error(path_ + ": vCPU mmap size " + std::to_string(size) + " is below sizeof(kvm_run)");
  }
  return static_cast<size_t>(size);
}

std::vector<kvm_cpuid_entry2> KvmSystem::supported_cpuid() const {
  for (uint32_t capacity = kInitialCpuidEntries; capacity <= kMaxCpuidEntries; capacity *= 2) {
    kvm_abi::FlexBuffer<kvm_abi::Cpuid2Header, kvm_cpuid_entry2> cpuid(capacity);
    cpuid.header().nent = capacity;
    if (::ioctl(fd(), kvm_abi::kGetSupportedCpuid, cpuid.data()) == 0) {
      const auto entries = cpuid.entries().first(std::min(cpuid.header().nent, capacity));
      return std::vector<kvm_cpuid_entry2>(entries.begin(), entries.end());
    }
    if (errno != E2BIG) throw_errno(path_ + ": KVM_GET_SUPPORTED_CPUID");
  }
  throw Error(path_ + ": KVM_GET_SUPPORTED_CPUID: more than " + std::to_string(kMaxCpuidEntries) +
              " entries");
}

}  // namespace kvrun::vmm
