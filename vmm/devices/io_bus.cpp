#include "vmm/devices/io_bus.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "common/error.h"

namespace kvrun::vmm {

IoBus::IoBus(std::string name) : name_(std::move(name)) {}

void IoBus::insert(std::shared_ptr<BusDevice> device, uint64_t base, uint64_t size,
                   std::string device_name) {
  auto describe = [&] {
    return fmt::format("{} bus: {} at {:#x} size {:#x}", name_, device_name, base, size);
  };
  if (!device) throw Error(describe() + ": no device");
  if (size == 0) throw Error(describe() + ": empty range");
  // Inclusive last address, so a range may end exactly at the top of the address space.
  const uint64_t last = base + (size - 1);
  if (last < base) throw Error(describe() + ": range wraps around");
  // The only candidates for overlap are the first entry at or after base and the one before.
  auto next = entries_.lower_bound(base);
  if (next != entries_.end() && next->first <= last) {
    throw Error(describe() + ": overlaps " + next->second.name);
  }
  if (next != entries_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + (prev->second.size - 1) >= base) {
      throw Error(describe() + ": overlaps " + prev->second.name);
    }
  }
  entries_.emplace(base, Entry{size, std::move(device), std::move(device_name)});
}

const IoBus::Entry* IoBus::find(uint64_t addr, uint64_t len, uint64_t& offset) const {
  if (len == 0) return nullptr;
  auto it = entries_.upper_bound(addr);
  if (it == entries_.begin()) return nullptr;
  --it;
  const uint64_t off = addr - it->first;
  // Overflow-safe form of addr + len <= base + size.
  if (off >= it->second.size || len > it->second.size - off) return nullptr;
  offset = off;
  return &it->second;
}

bool IoBus::read(uint64_t addr, std::span<uint8_t> data) const {
  uint64_t offset = 0;
  if (const Entry* entry = find(addr, data.size(), offset)) {
    entry->device->read(offset, data);
    return true;
  }
  std::fill(data.begin(), data.end(), uint8_t{0xff});
  spdlog::debug("{} bus: unhandled read of {} bytes at {:#x}", name_, data.size(), addr);
  return false;
}

bool IoBus::write(uint64_t addr, std::span<const uint8_t> data) const {
  uint64_t offset = 0;
  if (const Entry* entry = find(addr, data.size(), offset)) {
    entry->device->write(offset, data);
    return true;
  }
  spdlog::debug("{} bus: unhandled write of {} bytes at {:#x}", name_, data.size(), addr);
  return false;
}

}  // namespace kvrun::vmm
