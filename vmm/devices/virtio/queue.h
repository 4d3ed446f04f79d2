// A split virtqueue (virtio 1.2 §2.7) in guest memory, seen from the device side.
//
// The driver owns the memory the rings live in and can change it at any moment, so nothing
// read from it is trusted: every descriptor chain is parsed once, here, into segments that are
// already checked to lie inside guest RAM, and a device only ever sees such a parsed chain.
// Not thread-safe: the transport serialises access (its device lock).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vmm/devices/virtio/chain.h"
#include "vmm/devices/virtio/virtio_spec.h"
#include "vmm/memory/guest_memory.h"

namespace kvrun::vmm::virtio {

// One buffer of a chain: a host view of guest memory, wholly inside one RAM region.
struct Segment {
  std::span<uint8_t> data;
  GuestAddress gpa;
};

// A descriptor chain as the device uses it: all device-readable segments, then all
// device-writable ones (the order the specification requires; a chain that mixes them is
// rejected while parsing). Zero-length descriptors are dropped.
class DescriptorChain {
 public:
  DescriptorChain(uint16_t head, std::vector<Segment> readable, std::vector<Segment> writable);

  uint16_t head() const { return head_; }
  std::span<const Segment> readable() const { return readable_; }
  std::span<const Segment> writable() const { return writable_; }
  uint64_t readable_bytes() const { return readable_bytes_; }
  uint64_t writable_bytes() const { return writable_bytes_; }

  // Cursors over the readable and the writable bytes (chain.h): the one way devices use them.
  ChainReader reader() const;
  ChainWriter writer() const;

 private:
  uint16_t head_;
  std::vector<Segment> readable_;
  std::vector<Segment> writable_;
  uint64_t readable_bytes_ = 0;
  uint64_t writable_bytes_ = 0;
};

class Queue {
 public:
  // Largest indirect table we accept (entries). Linux sizes them by the device's segment
  // limit, far below this.
  static constexpr uint32_t kMaxIndirectEntries = 1024;

  // `max_size` is what QueueNumMax reports: a power of two, at most kMaxQueueSize.
  explicit Queue(uint16_t max_size);

  // --- the driver's setup registers (§4.2.2.3), written through the transport ---
  // They take effect only at activate(): an active queue goes on serving the size and rings it
  // was activated with, whatever is written here afterwards, until reset().
  uint16_t max_size() const { return max_size_; }
  uint16_t size() const { return size_; }
  void set_size(uint16_t size) { size_ = size; }
  GuestAddress desc_table() const { return desc_addr_; }
  GuestAddress avail_ring() const { return avail_addr_; }
  GuestAddress used_ring() const { return used_addr_; }
  void set_desc_table(GuestAddress addr) { desc_addr_ = addr; }
  void set_avail_ring(GuestAddress addr) { avail_addr_ = addr; }
  void set_used_ring(GuestAddress addr) { used_addr_ = addr; }
  bool ready() const { return ready_; }
  void set_ready(bool ready) { ready_ = ready; }

  // Why the current size and addresses cannot work in `memory` (size not a power of two or
  // above max_size, a ring misaligned or not wholly inside guest RAM), or nullopt if they can.
  std::optional<std::string> check_layout(const GuestMemory& memory) const;

  // Starts serving the rings: checks the setup registers and copies them into the active
  // queue's own state. `features` are the negotiated ones (EVENT_IDX and INDIRECT_DESC matter
  // here). Throws kvrun::Error (check_layout's reason) if the layout cannot work, or if the
  // queue is active already. `memory` must outlive the activation.
  void activate(GuestMemory& memory, uint64_t features);
  bool active() const { return memory_ != nullptr; }
  // The size the active queue serves (0 when not active).
  uint16_t active_size() const { return ring_size_; }

  // Back to the power-on state (size = max_size, addresses 0, not ready, not active).
  void reset();

  // The next available chain, or nullopt if there is none (or the queue is broken). A
  // malformed chain (out-of-range index, loop, too long, outside guest memory, writable
  // before readable, bad indirect table) is logged and handed back to the driver as used with
  // length 0, and the next one is tried: a device never sees it.
  std::optional<DescriptorChain> pop();

  // Returns a chain to the driver with `len` bytes written into its writable part.
  void add_used(uint16_t head, uint32_t len);

  // Whether the driver wants an interrupt for the entries added since the last call (the
  // avail ring's NO_INTERRUPT flag, or used_event with EVENT_IDX).
  bool needs_interrupt();

  // With EVENT_IDX: tells the driver to notify for the next buffer it adds, then returns
  // whether buffers arrived meanwhile (the caller then pops again instead of sleeping).
  // Without EVENT_IDX it returns false: the driver always notifies.
  bool enable_notification();

  // Set when the driver broke the ring as a whole (avail idx more than a queue ahead, a head
  // index out of range, or ring memory that fails to map): the queue stops, and the transport
  // reports DEVICE_NEEDS_RESET.
  bool broken() const { return !broken_reason_.empty(); }
  const std::string& broken_reason() const { return broken_reason_; }

  // Statistics for tests and logs.
  uint64_t malformed_chains() const { return malformed_chains_; }

 private:
  struct ParseResult;
  ParseResult parse_chain(uint16_t head) const;
  uint16_t avail_idx() const;
  void mark_broken(std::string reason);

  uint16_t max_size_;
  uint16_t size_;
  GuestAddress desc_addr_ = 0;
  GuestAddress avail_addr_ = 0;
  GuestAddress used_addr_ = 0;
  bool ready_ = false;

  // The active queue: copied from the setup registers by activate(), which checked them, and
  // never changed by them afterwards. Everything that touches the rings uses only these.
  GuestMemory* memory_ = nullptr;
  uint16_t ring_size_ = 0;
  GuestAddress ring_desc_addr_ = 0;
  bool event_idx_ = false;
  bool indirect_ = false;
  // Host views of the rings, mapped once at activation (guest RAM never moves).
  uint16_t* avail_flags_ = nullptr;
  uint16_t* avail_idx_ = nullptr;
  uint16_t* avail_entries_ = nullptr;  // size entries, then used_event
  uint16_t* used_flags_ = nullptr;
  uint16_t* used_idx_ = nullptr;
  UsedElement* used_entries_ = nullptr;  // size entries, then avail_event (as uint16_t)
  uint16_t* avail_event_ = nullptr;
  uint16_t* used_event_ = nullptr;

  uint16_t next_avail_ = 0;
  uint16_t next_used_ = 0;
  uint16_t signalled_used_ = 0;
  std::string broken_reason_;
  uint64_t malformed_chains_ = 0;
};

}  // namespace kvrun::vmm::virtio
