#include "vmm/kvm/vcpu.h"

#include <spdlog/fmt/fmt.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "common/error.h"
#include "vmm/kvm/kvm_abi.h"

namespace kvrun::vmm {

Vcpu Vcpu::create(const Vm& vm, uint32_t id, size_t mmap_size) {
  const std::string context = "vCPU " + std::to_string(id);
  UniqueFd fd(::ioctl(vm.fd(), KVM_CREATE_VCPU, static_cast<unsigned long>(id)));
  if (!fd) throw_errno(context + ": KVM_CREATE_VCPU");
  Mapping run = map_or_throw((context + ": mmap kvm_run").c_str(), mmap_size,
                             PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  return Vcpu(id, std::move(fd), std::move(run));
}

std::string Vcpu::what(const char* ioctl_name) const {
  return "vCPU " + std::to_string(id_) + ": " + ioctl_name;
}

void Vcpu::set_cpuid(std::span<const kvm_cpuid_entry2> entries) {
  kvm_abi::FlexBuffer<kvm_abi::Cpuid2Header, kvm_cpuid_entry2> cpuid(entries.size());
  cpuid.header().nent = static_cast<uint32_t>(entries.size());
  std::copy(entries.begin(), entries.end(), cpuid.entries().begin());
  if (::ioctl(fd_.get(), kvm_abi::kSetCpuid2, cpuid.data()) < 0) {
    throw_errno(what("KVM_SET_CPUID2"));
  }
}

void Vcpu::set_msrs(std::span<const MsrValue> msrs) {
  kvm_abi::FlexBuffer<kvm_abi::MsrsHeader, kvm_msr_entry> list(msrs.size());
  list.header().nmsrs = static_cast<uint32_t>(msrs.size());
  for (size_t i = 0; i < msrs.size(); ++i) {
    list.entries()[i].index = msrs[i].index;
    list.entries()[i].data = msrs[i].value;
  }
  const int set = ::ioctl(fd_.get(), kvm_abi::kSetMsrs, list.data());
  if (set < 0) throw_errno(what("KVM_SET_MSRS"));
  // KVM stops at the first MSR it refuses and returns how many it set before it.
  if (static_cast<size_t>(set) < msrs.size()) {
    throw Error(what("KVM_SET_MSRS") + ": KVM refused MSR " +
                fmt::format("{:#x}", msrs[static_cast<size_t>(set)].index));
  }
}

kvm_regs Vcpu::regs() const {
  kvm_regs regs{};
  if (::ioctl(fd_.get(), KVM_GET_REGS, &regs) < 0) throw_errno(what("KVM_GET_REGS"));
  return regs;
}

void Vcpu::set_regs(const kvm_regs& regs) {
  if (::ioctl(fd_.get(), KVM_SET_REGS, &regs) < 0) throw_errno(what("KVM_SET_REGS"));
}

kvm_sregs Vcpu::sregs() const {
  kvm_sregs sregs{};
  if (::ioctl(fd_.get(), KVM_GET_SREGS, &sregs) < 0) throw_errno(what("KVM_GET_SREGS"));
  return sregs;
}

void Vcpu::set_sregs(const kvm_sregs& sregs) {
  if (::ioctl(fd_.get(), KVM_SET_SREGS, &sregs) < 0) throw_errno(what("KVM_SET_SREGS"));
}

void Vcpu::set_fpu(const kvm_fpu& fpu) {
  if (::ioctl(fd_.get(), KVM_SET_FPU, &fpu) < 0) throw_errno(what("KVM_SET_FPU"));
}

kvm_lapic_state Vcpu::lapic() const {
  kvm_lapic_state lapic{};
  if (::ioctl(fd_.get(), KVM_GET_LAPIC, &lapic) < 0) throw_errno(what("KVM_GET_LAPIC"));
  return lapic;
}

void Vcpu::set_lapic(const kvm_lapic_state& lapic) {
  if (::ioctl(fd_.get(), KVM_SET_LAPIC, &lapic) < 0) throw_errno(what("KVM_SET_LAPIC"));
}

kvm_mp_state Vcpu::mp_state() const {
  kvm_mp_state state{};
  if (::ioctl(fd_.get(), KVM_GET_MP_STATE, &state) < 0) throw_errno(what("KVM_GET_MP_STATE"));
  return state;
}

bool Vcpu::run() {
  if (::ioctl(fd_.get(), KVM_RUN, 0) == 0) return true;
  // A kick ends the VM for good, so immediate_exit is never cleared again.
  if (errno == EINTR || errno == EAGAIN) return false;
  throw_errno(what("KVM_RUN"));
}

void Vcpu::request_immediate_exit() {
  std::atomic_ref<uint8_t>(run_data().immediate_exit).store(1);
}

}  // namespace kvrun::vmm
