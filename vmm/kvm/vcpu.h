// One KVM vCPU: its fd, its mapped kvm_run area and the register/CPUID/MSR/LAPIC setters the
// boot path needs. The exit handling loop lives with the VMM (vmm/vcpu_loop.h).
#pragma once

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/mapping.h"
#include "common/unique_fd.h"
#include "vmm/kvm/msrs.h"
#include "vmm/kvm/vm.h"

namespace kvrun::vmm {

class Vcpu {
 public:
  // KVM_CREATE_VCPU with `id` (also its APIC id) and the kvm_run mapping of `mmap_size`
  // bytes (KvmSystem::vcpu_mmap_size()).
  static Vcpu create(const Vm& vm, uint32_t id, size_t mmap_size);

  Vcpu(Vcpu&&) = default;
  Vcpu& operator=(Vcpu&&) = default;

  uint32_t id() const { return id_; }
  // The shared run area. Exit data KVM places past the struct (port I/O data) lies within
  // run_size() bytes of it.
  kvm_run& run_data() const { return *static_cast<kvm_run*>(run_.get()); }
  size_t run_size() const { return run_.size(); }

  void set_cpuid(std::span<const kvm_cpuid_entry2> entries);
  void set_msrs(std::span<const MsrValue> msrs);
  kvm_regs regs() const;
  void set_regs(const kvm_regs& regs);
  kvm_sregs sregs() const;
  void set_sregs(const kvm_sregs& sregs);
  void set_fpu(const kvm_fpu& fpu);
  kvm_lapic_state lapic() const;
  void set_lapic(const kvm_lapic_state& lapic);
  kvm_mp_state mp_state() const;

  // KVM_RUN until the next exit KVM leaves to us. Returns false if the run was cut short by a
  // signal or by request_immediate_exit() (exit_reason then carries nothing to handle).
  // Throws kvrun::Error for any other failure.
  bool run();

  // Makes the current or next KVM_RUN return at once. Safe from any thread; pair it with a
  // signal to the vCPU thread to interrupt a guest that is already running.
  void request_immediate_exit();

 private:
  Vcpu(uint32_t id, UniqueFd fd, Mapping run) : id_(id), fd_(std::move(fd)), run_(std::move(run)) {}
  std::string what(const char* ioctl_name) const;

  uint32_t id_;
  UniqueFd fd_;
  Mapping run_;
};

}  // namespace kvrun::vmm
