// The transfer both ends of the vsock VM test run over one stream (an AF_VSOCK socket in the
// guest, a Unix socket on the host), checked by checksums on both ends:
//
//   connector -> acceptor   u64 size, u64 seed, then `size` bytes of pattern(seed)
//   acceptor  -> connector  u64 checksum of what it received, then `size` bytes of pattern(seed+1)
//   connector -> acceptor   u64 checksum of what it received
//
// Each side compares the checksum it is sent with that of what it sent, and the received bytes
// with the pattern they must be. Header-only and dependency-free: the static guest tool and the
// host-side gtest both include it.
#pragma once

#include <errno.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace kvrun::vsock_xfer {

// FNV-1a, 64-bit: order-sensitive, so a reordered or dropped chunk changes it.
class Checksum {
 public:
  void add(const uint8_t* data, size_t n) {
    for (size_t i = 0; i < n; ++i) hash_ = (hash_ ^ data[i]) * 0x100000001b3ull;
  }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ull;
};

// A cheap deterministic byte stream (xorshift64*), so no two streams carry the same bytes.
class Pattern {
 public:
  explicit Pattern(uint64_t seed) : state_(seed * 0x9e3779b97f4a7c15ull + 1) {}
  void fill(uint8_t* out, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (left_ == 0) {
        state_ ^= state_ >> 12;
        state_ ^= state_ << 25;
        state_ ^= state_ >> 27;
        word_ = state_ * 0x2545f4914f6cdd1dull;
        left_ = 8;
      }
      out[i] = static_cast<uint8_t>(word_);
      word_ >>= 8;
      --left_;
    }
  }

 private:
  uint64_t state_;
  uint64_t word_ = 0;
  int left_ = 0;
};

inline bool write_all(int fd, const void* data, size_t n) {
  auto p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

inline bool read_all(int fd, void* data, size_t n) {
  auto p = static_cast<uint8_t*>(data);
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// Sends `size` bytes of pattern(seed); returns their checksum through `sum`.
inline bool send_pattern(int fd, uint64_t size, uint64_t seed, uint64_t& sum) {
  Pattern pattern(seed);
  Checksum checksum;
  uint8_t buf[32768];
  while (size > 0) {
    const size_t n = size < sizeof(buf) ? static_cast<size_t>(size) : sizeof(buf);
    pattern.fill(buf, n);
    checksum.add(buf, n);
    if (!write_all(fd, buf, n)) return false;
    size -= n;
  }
  sum = checksum.value();
  return true;
}

// Receives `size` bytes that must be pattern(seed); returns their checksum through `sum`.
inline bool receive_pattern(int fd, uint64_t size, uint64_t seed, uint64_t& sum,
                            std::string& error) {
  Pattern pattern(seed);
  Checksum checksum;
  uint8_t buf[32768], want[32768];
  uint64_t offset = 0;
  while (offset < size) {
    const size_t cap =
        size - offset < sizeof(buf) ? static_cast<size_t>(size - offset) : sizeof(buf);
    const ssize_t r = ::read(fd, buf, cap);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      error =
          "stream ended after " + std::to_string(offset) + " of " + std::to_string(size) + " bytes";
      return false;
    }
    pattern.fill(want, static_cast<size_t>(r));
    for (ssize_t i = 0; i < r; ++i) {
      if (buf[i] != want[i]) {
        error = "byte " + std::to_string(offset + i) + " differs";
        return false;
      }
    }
    checksum.add(buf, static_cast<size_t>(r));
    offset += static_cast<uint64_t>(r);
  }
  sum = checksum.value();
  return true;
}

// The connecting side. Returns "" on success, else what went wrong.
inline std::string run_connector(int fd, uint64_t size, uint64_t seed) {
  const uint64_t header[2] = {size, seed};
  uint64_t sent_sum = 0, their_sum = 0, received_sum = 0;
  std::string error;
  if (!write_all(fd, header, sizeof(header))) return "writing the header failed";
  if (!send_pattern(fd, size, seed, sent_sum)) return "sending the data failed";
  if (!read_all(fd, &their_sum, sizeof(their_sum))) return "no checksum from the acceptor";
  if (their_sum != sent_sum) return "the acceptor's checksum does not match what was sent";
  if (!receive_pattern(fd, size, seed + 1, received_sum, error)) return "receiving: " + error;
  if (!write_all(fd, &received_sum, sizeof(received_sum))) return "writing the checksum failed";
  return "";
}

// The accepting side. Returns "" on success, else what went wrong; `bytes` gets the size.
inline std::string run_acceptor(int fd, uint64_t& bytes) {
  uint64_t header[2];
  uint64_t received_sum = 0, sent_sum = 0, their_sum = 0;
  std::string error;
  if (!read_all(fd, header, sizeof(header))) return "no header";
  if (header[0] > (uint64_t{1} << 32)) return "absurd size in the header";
  bytes = header[0];
  if (!receive_pattern(fd, header[0], header[1], received_sum, error)) return "receiving: " + error;
  if (!write_all(fd, &received_sum, sizeof(received_sum))) return "writing the checksum failed";
  if (!send_pattern(fd, header[0], header[1] + 1, sent_sum)) return "sending the data failed";
  if (!read_all(fd, &their_sum, sizeof(their_sum))) return "no checksum from the connector";
  if (their_sum != sent_sum) return "the connector's checksum does not match what was sent";
  return "";
}

}  // namespace kvrun::vsock_xfer
