// What a vCPU thread does: run the guest, route each exit KVM hands us to the buses, and turn
// the exits that end the VM into a stop request.
#pragma once

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "vmm/devices/io_bus.h"
#include "vmm/kvm/vcpu.h"
#include "vmm/stop.h"

namespace kvrun::vmm {

struct Buses {
  const IoBus& pio;
  const IoBus& mmio;
};

// Handles the exit described by `run` (a kvm_run area of `run_size` bytes, exit data
// included). Returns the outcome if the exit ends the VM, nullopt to run the vCPU again.
// `read_rip` is only called to describe a failure. Separate from the vCPU so it is testable
// with a fake run area; everything in it is checked before use.
std::optional<StopOutcome> handle_exit(kvm_run& run, size_t run_size, const Buses& buses,
                                       uint32_t vcpu_id, const std::function<uint64_t()>& read_rip);

// The vCPU thread's body: runs until `stop` is requested, requesting it itself when the guest
// or an error ends the VM. Never throws.
void run_vcpu(Vcpu& vcpu, const Buses& buses, VmStop& stop) noexcept;

}  // namespace kvrun::vmm
