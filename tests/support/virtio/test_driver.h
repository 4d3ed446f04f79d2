// The driver's side of a split virtqueue, shared by the unit tests and the fuzzers (rust-vmm's
// mock.rs plays the same part): lays out the rings in guest memory, writes descriptors
// (well-formed or hostile), publishes them and reads the used ring back.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vmm/devices/virtio/queue.h"
#include "vmm/devices/virtio/virtio_spec.h"
#include "vmm/memory/guest_memory.h"

namespace kvrun::vmm::virtio::test {

inline constexpr uint64_t kTestMemoryBytes = 16ull << 20;

struct Buffer {
  uint64_t addr;
  uint32_t len;
  bool writable;
};

// Where the rings and the buffers alloc() hands out live.
struct RingLayout {
  GuestAddress desc;
  GuestAddress avail;
  GuestAddress used;
  GuestAddress data;
};

class TestDriver {
 public:
  static constexpr GuestAddress kDesc = 0x10000;
  static constexpr GuestAddress kAvail = 0x20000;
  static constexpr GuestAddress kUsed = 0x30000;
  static constexpr GuestAddress kData = 0x100000;
  static constexpr RingLayout kDefaultLayout{kDesc, kAvail, kUsed, kData};

  // The rings packed from `base` (descriptor table, then available ring, then used ring at
  // the next 4-byte boundary) and buffers from `data`: what a fuzz input lays out itself.
  static constexpr RingLayout packed_layout(GuestAddress base, uint16_t size, GuestAddress data) {
    const GuestAddress avail = base + uint64_t{16} * size;
    const GuestAddress used = (avail + 6 + uint64_t{2} * size + 3) & ~uint64_t{3};
    return {base, avail, used, data};
  }

  TestDriver(GuestMemory& memory, uint16_t size, RingLayout layout = kDefaultLayout)
      : memory_(memory), size_(size), layout_(layout), next_data_(layout.data) {}

  // Points `queue` at this driver's rings (as the transport registers would) and activates it.
  void setup(Queue& queue, uint64_t features = 0) const {
    queue.set_size(size_);
    queue.set_desc_table(layout_.desc);
    queue.set_avail_ring(layout_.avail);
    queue.set_used_ring(layout_.used);
    queue.set_ready(true);
    queue.activate(memory_, features);
  }

  void set_desc(uint16_t index, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0) {
    set_desc_in(layout_.desc, index, addr, len, flags, next);
  }
  void set_desc(uint16_t index, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next,
                GuestAddress table) {
    set_desc_in(table, index, addr, len, flags, next);
  }

  // Writes `buffers` as a chain into the lower half of the table (the upper half is left to
  // tests that place descriptors by hand) and returns its head (not yet published).
  uint16_t write_chain(const std::vector<Buffer>& buffers) {
    const uint16_t half = size_ / 2;
    const auto head = static_cast<uint16_t>(next_desc_ % half);
    for (size_t i = 0; i < buffers.size(); ++i) {
      const auto index = static_cast<uint16_t>(next_desc_++ % half);
      const bool last = i + 1 == buffers.size();
      uint16_t flags = buffers[i].writable ? kDescFlagWrite : 0;
      if (!last) flags |= kDescFlagNext;
      set_desc(index, buffers[i].addr, buffers[i].len, flags,
               static_cast<uint16_t>(next_desc_ % half));
    }
    return head;
  }

  // Puts `head` in the available ring and bumps its index.
  void publish(uint16_t head) {
    memory_.write_obj<uint16_t>(layout_.avail + 4 + 2 * (avail_idx_ % size_), head);
    ++avail_idx_;
    memory_.write_obj<uint16_t>(layout_.avail + 2, avail_idx_);
  }
  uint16_t add_chain(const std::vector<Buffer>& buffers) {
    const uint16_t head = write_chain(buffers);
    publish(head);
    return head;
  }
  void set_avail_idx(uint16_t idx) {
    avail_idx_ = idx;
    memory_.write_obj<uint16_t>(layout_.avail + 2, idx);
  }
  void set_avail_flags(uint16_t flags) { memory_.write_obj<uint16_t>(layout_.avail, flags); }
  void set_used_event(uint16_t value) {
    memory_.write_obj<uint16_t>(layout_.avail + 4 + 2 * uint64_t{size_}, value);
  }

  uint16_t used_idx() const { return memory_.read_obj<uint16_t>(layout_.used + 2); }
  UsedElement used(uint16_t n) const {
    return memory_.read_obj<UsedElement>(layout_.used + 4 +
                                         8 * uint64_t{static_cast<uint16_t>(n % size_)});
  }
  uint16_t avail_event() const {
    return memory_.read_obj<uint16_t>(layout_.used + 4 + 8 * uint64_t{size_});
  }

  // A fresh data buffer of `len` bytes (16-byte aligned), zero-filled.
  uint64_t alloc(uint32_t len) {
    const uint64_t addr = next_data_;
    next_data_ += (uint64_t{len} + 15) & ~uint64_t{15};
    std::vector<uint8_t> zero(len, 0);
    memory_.write(addr, zero);
    return addr;
  }
  // A fresh buffer holding `bytes`.
  uint64_t alloc_bytes(std::span<const uint8_t> bytes) {
    const uint64_t addr = alloc(static_cast<uint32_t>(bytes.size()));
    memory_.write(addr, bytes);
    return addr;
  }
  // Buffers are handed out from the layout's data address again (their bytes stay).
  void rewind_data() { next_data_ = layout_.data; }

 private:
  void set_desc_in(GuestAddress table, uint16_t index, uint64_t addr, uint32_t len, uint16_t flags,
                   uint16_t next) {
    memory_.write_obj(table + uint64_t{16} * index, Descriptor{addr, len, flags, next});
  }

  GuestMemory& memory_;
  uint16_t size_;
  RingLayout layout_;
  uint16_t next_desc_ = 0;
  uint16_t avail_idx_ = 0;
  uint64_t next_data_;
};

}  // namespace kvrun::vmm::virtio::test
