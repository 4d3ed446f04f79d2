// Cursors over the buffers of a descriptor chain, the one way devices read and write them:
// ChainReader consumes the device-readable bytes (read-only spans), ChainWriter fills the
// device-writable ones, each as if its buffers were one contiguous range, however the guest
// split them (rust-vmm's descriptor_utils Reader and Writer have the same shape).
//
// A cursor holds host views only. Those from DescriptorChain::reader() and writer() were
// checked by the queue when it parsed the chain: each buffer wholly inside one guest RAM region
// (addr + len overflow-safe), readable ones before writable ones, the walk bounded by the
// descriptor table, the total under 4 GiB. A cursor never goes past the bytes its views hold:
// every count it is given (a header size, a length field from the guest) is clipped to what
// is left or refused, and a cursor's total is itself capped at kMaxChainBytes.
//
// Header-only: the vsock multiplexer, which links no queue code, takes cursors too.
#pragma once

#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

namespace kvrun::vmm::virtio {

// The used ring reports lengths in 32 bits; the queue refuses chains holding more.
inline constexpr size_t kMaxChainBytes = UINT32_MAX;

// `Byte` is `const uint8_t` for a reader, `uint8_t` for a writer.
template <typename Byte>
class ChainCursor {
 public:
  static constexpr bool kReader = std::is_const_v<Byte>;
  using Part = std::span<Byte>;

  ChainCursor() = default;
  explicit ChainCursor(std::span<const Part> parts) {
    parts_.reserve(parts.size());
    for (const Part& part : parts) append(part);
  }

  // Adds a buffer at the end. Empty buffers are dropped; so are buffers that would take the
  // total past kMaxChainBytes (a queue's chain never does), and every buffer after one that did.
  void append(Part part) {
    if (part.empty() || capped_) return;
    if (part.size() > kMaxChainBytes - total_) {
      capped_ = true;
      return;
    }
    parts_.push_back(part);
    total_ += part.size();
    available_ += part.size();
  }

  // Bytes left, and bytes consumed so far (read, written, skipped or taken).
  size_t available() const { return available_; }
  size_t consumed() const { return total_ - available_; }
  // The bytes left, as non-empty spans (the first may start inside a guest buffer). Not on a
  // temporary cursor: the spans live in it (`for (p : c.take(n).parts())` would dangle).
  std::span<const Part> parts() const& { return std::span<const Part>(parts_).subspan(first_); }
  std::span<const Part> parts() const&& = delete;

  // Advances past min(n, available()) bytes; returns how many.
  size_t skip(size_t n) {
    const size_t count = std::min(n, available_);
    advance(count, [](Part, size_t) {});
    return count;
  }

  // The next min(n, available()) bytes as a cursor of their own; this one advances past them.
  ChainCursor take(size_t n) {
    ChainCursor prefix;
    const size_t count = std::min(n, available_);
    advance(count, [&prefix](Part piece, size_t) { prefix.append(piece); });
    return prefix;
  }

  // iovecs for the next min(max_bytes, available()) bytes, for readv/writev/sendmsg straight
  // into or out of guest memory. The cursor does not advance: the caller skip()s what the
  // system call moved.
  void append_iovecs(std::vector<iovec>& out, size_t max_bytes = kMaxChainBytes) const {
    for (const Part& part : parts()) {
      if (max_bytes == 0) break;
      const size_t count = std::min(part.size(), max_bytes);
      // iovec has no const variant; writev and sendmsg only read through it.
      out.push_back({const_cast<uint8_t*>(part.data()), count});
      max_bytes -= count;
    }
  }
  std::vector<iovec> iovecs(size_t max_bytes = kMaxChainBytes) const {
    std::vector<iovec> out;
    out.reserve(parts().size());
    append_iovecs(out, max_bytes);
    return out;
  }

  // --- ChainReader ---
  // Copies the next min(out.size(), available()) bytes into `out`; returns how many.
  size_t read(std::span<uint8_t> out) requires kReader {
    const size_t count = std::min(out.size(), available_);
    advance(count, [out](Part piece, size_t done) {
      std::memcpy(out.data() + done, piece.data(), piece.size());
    });
    return count;
  }
  // Copies exactly out.size() bytes; if fewer are left, copies and consumes nothing.
  bool read_exact(std::span<uint8_t> out) requires kReader {
    if (out.size() > available_) return false;
    read(out);
    return true;
  }
  // The next sizeof(T) bytes as a T (a copy: the guest may change its memory meanwhile).
  template <typename T>
  std::optional<T> read_obj() requires kReader {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    if (!read_exact({reinterpret_cast<uint8_t*>(&value), sizeof(T)})) return std::nullopt;
    return value;
  }

  // --- ChainWriter ---
  // Copies min(in.size(), available()) bytes of `in` into the next bytes; returns how many.
  size_t write(std::span<const uint8_t> in) requires(!kReader) {
    const size_t count = std::min(in.size(), available_);
    advance(count, [in](Part piece, size_t done) {
      std::memcpy(piece.data(), in.data() + done, piece.size());
    });
    return count;
  }
  // Writes all of `in`; if it does not fit, writes and consumes nothing.
  bool write_all(std::span<const uint8_t> in) requires(!kReader) {
    if (in.size() > available_) return false;
    write(in);
    return true;
  }
  template <typename T>
  bool write_obj(const T& value) requires(!kReader) {
    static_assert(std::is_trivially_copyable_v<T>);
    return write_all({reinterpret_cast<const uint8_t*>(&value), sizeof(T)});
  }

 private:
  // Hands `fn` the next `count` (<= available_) bytes piece by piece, with the running offset,
  // and moves past them.
  template <typename Fn>
  void advance(size_t count, Fn fn) {
    size_t done = 0;
    while (done < count) {
      Part& part = parts_[first_];
      const size_t n = std::min(part.size(), count - done);
      fn(part.first(n), done);
      done += n;
      if (n == part.size()) {
        ++first_;
      } else {
        part = part.subspan(n);
      }
    }
    available_ -= count;
  }

  std::vector<Part> parts_;
  size_t first_ = 0;      // parts_[first_] is the next byte's buffer (trimmed at the front)
  size_t total_ = 0;      // bytes appended
  size_t available_ = 0;  // bytes left
  bool capped_ = false;
};

using ChainReader = ChainCursor<const uint8_t>;
using ChainWriter = ChainCursor<uint8_t>;

}  // namespace kvrun::vmm::virtio
