// Scatter-gather helpers over a descriptor chain's buffers, seen as a list of byte ranges
// (already bounds-checked against guest memory by the queue code). Nothing here trusts the
// layout: any split of header and payload across any number of descriptors works.
#pragma once

#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace kvrun::vmm::vsock {

using ReadParts = std::span<const std::span<const uint8_t>>;
using WriteParts = std::span<const std::span<uint8_t>>;

template <typename Byte>
size_t total_size(std::span<const std::span<Byte>> parts) {
  size_t total = 0;
  for (const auto& part : parts) total += part.size();
  return total;
}

// The range [offset, offset + length) of the parts' concatenation, clipped to what exists.
template <typename Byte>
std::vector<std::span<Byte>> slice(std::span<const std::span<Byte>> parts, size_t offset,
                                   size_t length) {
  std::vector<std::span<Byte>> out;
  for (const auto& part : parts) {
    if (length == 0) break;
    if (offset >= part.size()) {
      offset -= part.size();
      continue;
    }
    const size_t take = std::min(part.size() - offset, length);
    out.push_back(part.subspan(offset, take));
    length -= take;
    offset = 0;
  }
  return out;
}

// Copies the first out.size() bytes of the parts (fewer if they are shorter); returns the count.
inline size_t gather(ReadParts parts, std::span<uint8_t> out) {
  size_t done = 0;
  for (const auto& part : parts) {
    const size_t take = std::min(part.size(), out.size() - done);
    if (take) std::memcpy(out.data() + done, part.data(), take);
    done += take;
    if (done == out.size()) break;
  }
  return done;
}

// Copies `in` into the start of the parts (as much as fits); returns the count.
inline size_t scatter(WriteParts parts, std::span<const uint8_t> in) {
  size_t done = 0;
  for (const auto& part : parts) {
    const size_t take = std::min(part.size(), in.size() - done);
    if (take) std::memcpy(part.data(), in.data() + done, take);
    done += take;
    if (done == in.size()) break;
  }
  return done;
}

template <typename Byte>
std::vector<iovec> to_iovecs(std::span<const std::span<Byte>> parts) {
  std::vector<iovec> iov;
  iov.reserve(parts.size());
  for (const auto& part : parts) {
    if (part.empty()) continue;
    iov.push_back({const_cast<uint8_t*>(part.data()), part.size()});
  }
  return iov;
}
inline std::vector<iovec> to_iovecs(const std::vector<std::span<uint8_t>>& parts) {
  return to_iovecs(WriteParts(parts));
}
inline std::vector<iovec> to_iovecs(const std::vector<std::span<const uint8_t>>& parts) {
  return to_iovecs(ReadParts(parts));
}

}  // namespace kvrun::vmm::vsock
