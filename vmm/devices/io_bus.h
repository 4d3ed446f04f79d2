// One guest address space (port I/O or MMIO) and the devices registered on it. A vCPU exit is
// dispatched here by address; the guest decides the address and the size, so nothing it asks
// for may reach a device outside the range that device registered.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>

namespace kvrun::vmm {

// A device sees offsets relative to its registered base; the bus guarantees
// offset + data.size() <= registered size and data.size() >= 1.
// Devices are called from several vCPU threads at once and must guard their own state.
class BusDevice {
 public:
  virtual ~BusDevice() = default;
  virtual void read(uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

class IoBus {
 public:
  // `name` ("pio", "mmio") appears in logs and errors.
  explicit IoBus(std::string name);

  // Registers [base, base + size). Throws kvrun::Error if the range is empty, wraps around,
  // or overlaps a device already registered. Not thread-safe: register before vCPUs run.
  void insert(std::shared_ptr<BusDevice> device, uint64_t base, uint64_t size,
              std::string device_name);

  // Dispatches an access. An access that is not wholly inside one device's range goes to no
  // device: reads see all-ones (like an empty ISA/PCI bus), writes are dropped. Returns whether
  // a device handled it.
  bool read(uint64_t addr, std::span<uint8_t> data) const;
  bool write(uint64_t addr, std::span<const uint8_t> data) const;

 private:
  struct Entry {
    uint64_t size;
    std::shared_ptr<BusDevice> device;
    std::string name;
  };
  // The entry containing [addr, addr + len) and the offset into it, or nullptr.
  const Entry* find(uint64_t addr, uint64_t len, uint64_t& offset) const;

  std::string name_;
  std::map<uint64_t, Entry> entries_;  // keyed by base
};

}  // namespace kvrun::vmm
