// The host end of TCP transfers in tests and benchmarks: a listener inside a test network
// namespace that takes one connection and then receives or sends a given number of bytes.
// Every wait has a deadline, so a guest that never connects fails the test instead of hanging.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/unique_fd.h"
#include "tests/unit/net/netns_fixture.h"

namespace kvrun::test {

// A listening socket on `address`:`port` created inside `ns`.
UniqueFd listen_tcp(const TestNetns& ns, const std::string& address, uint16_t port);

struct Transfer {
  std::string data;                     // what was received (empty for a send)
  uint64_t bytes = 0;                   // bytes moved
  std::chrono::nanoseconds elapsed{0};  // from accept to the last byte
};

// Accepts one connection and reads `bytes` bytes from it (or until EOF), then closes it.
// Throws kvrun::Error if nobody connects or the transfer stalls past `timeout`.
Transfer receive_bytes(int listener, uint64_t bytes, std::chrono::milliseconds timeout,
                       bool keep_data = true);
// Accepts one connection, writes `data` (repeated until `bytes` bytes are sent), then closes it.
Transfer send_bytes(int listener, const std::string& data, uint64_t bytes,
                    std::chrono::milliseconds timeout);

// Connects from inside `ns` to `address`:`port` and sends `bytes` bytes of `data` (repeated).
Transfer connect_and_send(const TestNetns& ns, const std::string& address, uint16_t port,
                          const std::string& data, uint64_t bytes,
                          std::chrono::milliseconds timeout);

// `bytes` random bytes.
std::string random_bytes(size_t bytes);

// SHA-256 of `data` as 64 lowercase hex digits (sha256sum's format), computed by sha256sum.
std::string sha256_hex(const std::string& data);

}  // namespace kvrun::test
