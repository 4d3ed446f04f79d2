#include "vmm/vcpu_loop.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <span>
#include <string>

namespace kvrun::vmm {

namespace {

std::string vcpu_name(uint32_t id) { return "vCPU " + std::to_string(id); }

StopOutcome error(uint32_t vcpu_id, const std::string& what) {
  return StopOutcome{StopCause::kError, 0, vcpu_name(vcpu_id) + ": " + what};
}

std::optional<StopOutcome> handle_io(kvm_run& run, size_t run_size, const IoBus& pio,
                                     uint32_t vcpu_id) {
  const auto& io = run.io;
  if (io.size != 1 && io.size != 2 && io.size != 4) {
    return error(vcpu_id, fmt::format("port I/O exit with invalid size {}", io.size));
  }
  // `rep ins/outs` hands over count elements at once. KVM fills these fields, but a wrong
  // offset would have us read or write past the mapping, so check them all the same.
  const uint64_t bytes = uint64_t{io.size} * io.count;
  if (io.count == 0 || io.data_offset > run_size || bytes > run_size - io.data_offset) {
    return error(vcpu_id, fmt::format("port I/O exit data (offset {:#x}, {} x {} bytes) lies "
                                      "outside the {}-byte run area",
                                      io.data_offset, io.count, io.size, run_size));
  }
  auto* data = reinterpret_cast<uint8_t*>(&run) + io.data_offset;
  for (uint32_t i = 0; i < io.count; ++i) {
    std::span<uint8_t> element(data + uint64_t{i} * io.size, io.size);
    if (io.direction == KVM_EXIT_IO_OUT) {
      pio.write(io.port, element);
    } else {
      pio.read(io.port, element);
    }
  }
  return std::nullopt;
}

std::optional<StopOutcome> handle_mmio(kvm_run& run, const IoBus& mmio, uint32_t vcpu_id) {
  auto& m = run.mmio;
  if (m.len == 0 || m.len > sizeof(m.data)) {
    return error(vcpu_id, fmt::format("MMIO exit with invalid length {}", m.len));
  }
  std::span<uint8_t> data(m.data, m.len);
  if (m.is_write) {
    mmio.write(m.phys_addr, data);
  } else {
    mmio.read(m.phys_addr, data);
  }
  return std::nullopt;
}

const char* internal_error_name(uint32_t suberror) {
  switch (suberror) {
    case KVM_INTERNAL_ERROR_EMULATION:
      return "instruction emulation failed";
    case KVM_INTERNAL_ERROR_SIMUL_EX:
      return "exception while delivering an exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV:
      return "failure while delivering an event";
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
      return "unexpected hardware exit reason";
    default:
      return "unknown suberror";
  }
}

StopOutcome internal_error(const kvm_run& run, uint32_t vcpu_id,
                           const std::function<uint64_t()>& read_rip) {
  const auto& in = run.internal;
  std::string what =
      fmt::format("KVM internal error {} ({})", in.suberror, internal_error_name(in.suberror));
  try {
    what += fmt::format(" at rip {:#x}", read_rip());
  } catch (const std::exception& e) {
    what += fmt::format(" (rip unavailable: {})", e.what());
  }
  // With the instruction-bytes flag KVM reports the bytes it could not emulate: the most
  // useful clue there is, e.g. a CPU feature the guest should not have been offered.
  const auto& ef = run.emulation_failure;
  constexpr uint32_t kInsnDataWords = 3;  // flags + insn_size/insn_bytes, in 64-bit words
  if (in.suberror == KVM_INTERNAL_ERROR_EMULATION && ef.ndata >= kInsnDataWords &&
      (ef.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
    const size_t n = std::min<size_t>(ef.insn_size, sizeof(ef.insn_bytes));
    what += ", instruction bytes";
    for (size_t i = 0; i < n; ++i) what += fmt::format(" {:02x}", ef.insn_bytes[i]);
  }
  return error(vcpu_id, what);
}

std::optional<StopOutcome> handle_system_event(const kvm_run& run, uint32_t vcpu_id) {
  switch (run.system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
    case KVM_SYSTEM_EVENT_RESET:
      spdlog::info("{}: guest requested {}", vcpu_name(vcpu_id),
                   run.system_event.type == KVM_SYSTEM_EVENT_RESET ? "reset" : "shutdown");
      return StopOutcome{StopCause::kReboot, 0, {}};
    case KVM_SYSTEM_EVENT_CRASH:
      return StopOutcome{StopCause::kPanic, 0, "KVM reported a guest crash event"};
    case KVM_SYSTEM_EVENT_WAKEUP:
    case KVM_SYSTEM_EVENT_SUSPEND:
      return std::nullopt;  // nothing to do: the vCPU simply runs on
    default:
      return error(vcpu_id, fmt::format("unexpected KVM system event {}", run.system_event.type));
  }
}

}  // namespace

std::optional<StopOutcome> handle_exit(kvm_run& run, size_t run_size, const Buses& buses,
                                       uint32_t vcpu_id,
                                       const std::function<uint64_t()>& read_rip) {
  switch (run.exit_reason) {
    case KVM_EXIT_IO:
      return handle_io(run, run_size, buses.pio, vcpu_id);
    case KVM_EXIT_MMIO:
      return handle_mmio(run, buses.mmio, vcpu_id);
    case KVM_EXIT_INTR:
    case KVM_EXIT_IRQ_WINDOW_OPEN:
      return std::nullopt;
    case KVM_EXIT_HLT:
      // Only reached without an in-kernel LAPIC, where a halted vCPU could never wake.
      spdlog::info("{}: guest halted", vcpu_name(vcpu_id));
      return StopOutcome{StopCause::kReboot, 0, {}};
    case KVM_EXIT_SHUTDOWN:
      // A triple fault: how x86 resets, and how Linux's last-resort reboot methods end.
      spdlog::info("{}: guest shut down (triple fault or reset)", vcpu_name(vcpu_id));
      return StopOutcome{StopCause::kReboot, 0, {}};
    case KVM_EXIT_SYSTEM_EVENT:
      return handle_system_event(run, vcpu_id);
    case KVM_EXIT_FAIL_ENTRY:
      return error(vcpu_id,
                   fmt::format("KVM could not enter the guest (hardware entry failure reason "
                               "{:#x} on host CPU {})",
                               run.fail_entry.hardware_entry_failure_reason, run.fail_entry.cpu));
    case KVM_EXIT_INTERNAL_ERROR:
      return internal_error(run, vcpu_id, read_rip);
    default:
      return error(vcpu_id, fmt::format("unexpected KVM exit reason {}", run.exit_reason));
  }
}

void run_vcpu(Vcpu& vcpu, const Buses& buses, VmStop& stop) noexcept {
  try {
    const auto read_rip = [&vcpu] { return vcpu.regs().rip; };
    while (!stop.requested()) {
      if (!vcpu.run()) continue;  // kicked or interrupted: look at the stop flag again
      if (auto outcome =
              handle_exit(vcpu.run_data(), vcpu.run_size(), buses, vcpu.id(), read_rip)) {
        stop.request(std::move(*outcome));
        return;
      }
    }
  } catch (const std::exception& e) {
    stop.request(StopOutcome{StopCause::kError, 0, e.what()});
  }
}

}  // namespace kvrun::vmm
