#include "vmm/devices/virtio/queue.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include "common/error.h"
#include "vmm/memory/format.h"

namespace kvrun::vmm::virtio {

namespace {

// Malformed chains logged at warning level per queue; after that only at debug level, so a
// hostile guest cannot flood the host's logs.
constexpr uint64_t kLoudMalformedChains = 8;

constexpr uint64_t desc_table_bytes(uint16_t size) { return uint64_t{16} * size; }
// flags, idx, ring[size], used_event
constexpr uint64_t avail_ring_bytes(uint16_t size) { return 6 + uint64_t{2} * size; }
// flags, idx, ring[size], avail_event
constexpr uint64_t used_ring_bytes(uint16_t size) { return 6 + uint64_t{8} * size; }

uint16_t load_acquire(uint16_t* p) {
  return std::atomic_ref<uint16_t>(*p).load(std::memory_order_acquire);
}
uint16_t load_relaxed(uint16_t* p) {
  return std::atomic_ref<uint16_t>(*p).load(std::memory_order_relaxed);
}
void store_release(uint16_t* p, uint16_t v) {
  std::atomic_ref<uint16_t>(*p).store(v, std::memory_order_release);
}

}  // namespace

// --- DescriptorChain ------------------------------------------------------------------------

DescriptorChain::DescriptorChain(uint16_t head, std::vector<Segment> readable,
                                 std::vector<Segment> writable)
    : head_(head), readable_(std::move(readable)), writable_(std::move(writable)) {
  for (const Segment& s : readable_) readable_bytes_ += s.data.size();
  for (const Segment& s : writable_) writable_bytes_ += s.data.size();
}

ChainReader DescriptorChain::reader() const {
  ChainReader reader;
  for (const Segment& s : readable_) reader.append(s.data);
  return reader;
}

ChainWriter DescriptorChain::writer() const {
  ChainWriter writer;
  for (const Segment& s : writable_) writer.append(s.data);
  return writer;
}

// --- Queue ----------------------------------------------------------------------------------

struct Queue::ParseResult {
  std::optional<DescriptorChain> chain;
  std::string error;  // why the chain is malformed, if it is
};

Queue::Queue(uint16_t max_size) : max_size_(max_size), size_(max_size) {
  if (max_size == 0 || !std::has_single_bit(max_size) || max_size > kMaxQueueSize) {
    throw Error("virtqueue maximum size " + std::to_string(max_size) +
                " is not a power of two up to " + std::to_string(kMaxQueueSize));
  }
}

std::optional<std::string> Queue::check_layout(const GuestMemory& memory) const {
  if (size_ == 0 || !std::has_single_bit(size_) || size_ > max_size_) {
    return "queue size " + std::to_string(size_) + " is not a power of two up to " +
           std::to_string(max_size_);
  }
  struct Part {
    const char* name;
    GuestAddress addr;
    uint64_t bytes;
    uint64_t align;
  };
  for (const Part& part : {Part{"descriptor table", desc_addr_, desc_table_bytes(size_), 16},
                           Part{"available ring", avail_addr_, avail_ring_bytes(size_), 2},
                           Part{"used ring", used_addr_, used_ring_bytes(size_), 4}}) {
    if (part.addr % part.align != 0) {
      return std::string(part.name) + " at " + hex(part.addr) + " is not " +
             std::to_string(part.align) + "-byte aligned";
    }
    if (!memory.contains(part.addr, part.bytes)) {
      return std::string(part.name) + " " + format_range(part.addr, part.bytes) +
             " is not inside guest RAM";
    }
  }
  return std::nullopt;
}

void Queue::activate(GuestMemory& memory, uint64_t features) {
  // Re-activating would re-map the rings under a device that may hold chains of the old ones.
  if (active()) throw Error("virtqueue is active already");
  if (auto why = check_layout(memory)) throw Error(*why);
  auto* avail =
      reinterpret_cast<uint16_t*>(memory.slice(avail_addr_, avail_ring_bytes(size_)).data());
  auto* used = memory.slice(used_addr_, used_ring_bytes(size_)).data();
  avail_flags_ = avail;
  avail_idx_ = avail + 1;
  avail_entries_ = avail + 2;
  used_event_ = avail + 2 + size_;
  used_flags_ = reinterpret_cast<uint16_t*>(used);
  used_idx_ = used_flags_ + 1;
  used_entries_ = reinterpret_cast<UsedElement*>(used + 4);
  avail_event_ = reinterpret_cast<uint16_t*>(used + 4 + uint64_t{8} * size_);
  ring_size_ = size_;
  ring_desc_addr_ = desc_addr_;
  event_idx_ = (features & feature_bit(kFeatureRingEventIdx)) != 0;
  indirect_ = (features & feature_bit(kFeatureRingIndirectDesc)) != 0;
  // Both rings start at index 0 (§2.7.6, §2.7.8), whatever the memory held before; and our
  // flags start clear, or stale ones could suppress the driver's notifications.
  next_avail_ = 0;
  next_used_ = 0;
  std::atomic_ref<uint16_t>(*used_flags_).store(0, std::memory_order_relaxed);
  store_release(used_idx_, 0);
  signalled_used_ = 0;
  broken_reason_.clear();
  memory_ = &memory;
}

void Queue::reset() {
  size_ = max_size_;
  desc_addr_ = avail_addr_ = used_addr_ = 0;
  ready_ = false;
  memory_ = nullptr;
  ring_size_ = 0;
  ring_desc_addr_ = 0;
  event_idx_ = indirect_ = false;
  avail_flags_ = avail_idx_ = avail_entries_ = used_flags_ = used_idx_ = nullptr;
  avail_event_ = used_event_ = nullptr;
  used_entries_ = nullptr;
  next_avail_ = next_used_ = signalled_used_ = 0;
  broken_reason_.clear();
  malformed_chains_ = 0;
}

void Queue::mark_broken(std::string reason) {
  if (broken()) return;
  spdlog::warn("virtqueue stopped: {}", reason);
  broken_reason_ = std::move(reason);
}

uint16_t Queue::avail_idx() const { return load_acquire(avail_idx_); }

Queue::ParseResult Queue::parse_chain(uint16_t head) const {
  std::vector<Segment> readable;
  std::vector<Segment> writable;
  uint64_t writable_bytes = 0;
  uint64_t readable_bytes = 0;
  bool seen_writable = false;

  GuestAddress table = ring_desc_addr_;
  uint32_t entries = ring_size_;
  // A chain visits each descriptor of its table at most once, so visiting more than the table
  // holds means the `next` links loop.
  uint32_t visited = 0;
  bool in_indirect = false;
  uint32_t index = head;
  for (;;) {
    if (index >= entries) {
      return {std::nullopt, "descriptor index " + std::to_string(index) + " is outside the " +
                                std::to_string(entries) + "-entry table"};
    }
    if (++visited > entries) {
      return {std::nullopt,
              "chain is longer than its " + std::to_string(entries) + "-entry table (a loop)"};
    }
    const auto desc = memory_->read_obj<Descriptor>(table + uint64_t{16} * index);
    if (desc.flags & kDescFlagIndirect) {
      if (!indirect_) return {std::nullopt, "indirect descriptor without INDIRECT_DESC"};
      if (in_indirect) return {std::nullopt, "indirect descriptor inside an indirect table"};
      if (visited != 1) return {std::nullopt, "indirect descriptor not at the head of a chain"};
      if (desc.flags & kDescFlagNext) return {std::nullopt, "indirect descriptor with NEXT"};
      if (desc.len == 0 || desc.len % 16 != 0 || desc.len / 16 > kMaxIndirectEntries) {
        return {std::nullopt, "indirect table of " + std::to_string(desc.len) +
                                  " bytes is not 1 to " + std::to_string(kMaxIndirectEntries) +
                                  " descriptors"};
      }
      if (!memory_->contains(desc.addr, desc.len)) {
        return {std::nullopt,
                "indirect table " + format_range(desc.addr, desc.len) + " is not inside guest RAM"};
      }
      table = desc.addr;
      entries = desc.len / 16;
      visited = 0;
      in_indirect = true;
      index = 0;
      continue;
    }
    const bool is_writable = (desc.flags & kDescFlagWrite) != 0;
    if (!is_writable && seen_writable) {
      return {std::nullopt, "device-readable descriptor after a device-writable one"};
    }
    if (desc.len > 0) {
      if (!memory_->contains(desc.addr, desc.len)) {
        return {std::nullopt,
                "buffer " + format_range(desc.addr, desc.len) + " is not inside guest RAM"};
      }
      uint64_t& total = is_writable ? writable_bytes : readable_bytes;
      total += desc.len;
      // The used ring reports the written length in 32 bits; keep both sides in that range.
      if (total > kMaxChainBytes) return {std::nullopt, "chain holds more than 4 GiB"};
      (is_writable ? writable : readable)
          .push_back({memory_->slice(desc.addr, desc.len), desc.addr});
    }
    seen_writable = seen_writable || is_writable;
    if (!(desc.flags & kDescFlagNext)) break;
    index = desc.next;
  }
  return {DescriptorChain(head, std::move(readable), std::move(writable)), {}};
}

std::optional<DescriptorChain> Queue::pop() {
  if (!active() || broken()) return std::nullopt;
  for (;;) {
    const uint16_t avail = avail_idx();
    const uint16_t pending = static_cast<uint16_t>(avail - next_avail_);
    if (pending == 0) return std::nullopt;
    if (pending > ring_size_) {
      mark_broken("available index " + std::to_string(avail) + " is " + std::to_string(pending) +
                  " entries ahead of a " + std::to_string(ring_size_) + "-entry queue");
      return std::nullopt;
    }
    // The acquire load of idx above orders this read after the driver's write of the entry.
    const uint16_t head = load_relaxed(&avail_entries_[next_avail_ % ring_size_]);
    if (head >= ring_size_) {
      mark_broken("available ring entry " + std::to_string(head) + " is outside the " +
                  std::to_string(ring_size_) + "-entry descriptor table");
      return std::nullopt;
    }
    ++next_avail_;
    ParseResult parsed = parse_chain(head);
    if (parsed.chain) return std::move(parsed.chain);
    ++malformed_chains_;
    if (malformed_chains_ <= kLoudMalformedChains) {
      spdlog::warn("virtqueue: dropping malformed chain at head {}: {}", head, parsed.error);
    } else {
      spdlog::debug("virtqueue: dropping malformed chain at head {}: {}", head, parsed.error);
    }
    add_used(head, 0);
  }
}

void Queue::add_used(uint16_t head, uint32_t len) {
  if (!active() || broken()) return;
  const UsedElement element{head, len};
  std::memcpy(&used_entries_[next_used_ % ring_size_], &element, sizeof(element));
  ++next_used_;
  // The entry must be visible before the index that publishes it.
  store_release(used_idx_, next_used_);
}

bool Queue::needs_interrupt() {
  if (!active()) return false;
  // Our used idx store must be ordered before reading the driver's suppression fields, or we
  // could read a stale "no interrupt" and the driver a stale used idx: both would sleep.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const uint16_t old_used = signalled_used_;
  signalled_used_ = next_used_;
  if (old_used == next_used_) return false;  // nothing new since the last check
  if (!event_idx_) return (load_relaxed(avail_flags_) & kAvailFlagNoInterrupt) == 0;
  // §2.7.10: interrupt if used_event lies in (old_used, next_used].
  const uint16_t event = load_relaxed(used_event_);
  return static_cast<uint16_t>(next_used_ - event - 1) <
         static_cast<uint16_t>(next_used_ - old_used);
}

bool Queue::enable_notification() {
  if (!active() || broken() || !event_idx_) return false;
  store_release(avail_event_, next_avail_);
  // Publish avail_event before looking at avail idx again (pairs with the driver's barrier
  // between writing avail idx and reading avail_event).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return avail_idx() != next_avail_;
}

}  // namespace kvrun::vmm::virtio
