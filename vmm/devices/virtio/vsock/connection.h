// One vsock stream between a guest port and a host Unix socket, as the multiplexer keeps it.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>

#include "common/unique_fd.h"
#include "vmm/devices/virtio/vsock/byte_ring.h"
#include "vmm/devices/virtio/vsock/connect_line.h"
#include "vmm/devices/virtio/vsock/credit.h"

namespace kvrun::vmm::vsock {

using Clock = std::chrono::steady_clock;

// A stream is named by its two ports; the CIDs are fixed (host 2, the guest's own).
struct ConnKey {
  uint32_t local_port = 0;  // host side
  uint32_t peer_port = 0;   // guest side
  auto operator<=>(const ConnKey&) const = default;
};

struct Connection {
  Connection(ConnKey key_, UniqueFd fd_, uint32_t buf_alloc)
      : key(key_), fd(std::move(fd_)), credit(buf_alloc), to_host(buf_alloc + kMaxOkLine) {}

  ConnKey key;
  UniqueFd fd;
  // Host-initiated streams wait for the guest's RESPONSE until `deadline`.
  bool established = false;
  Clock::time_point deadline{};
  Credit credit;
  // Guest payload (and, first, our "OK <port>\n" line) the host socket has not taken yet. Its
  // capacity is the credit we advertise plus the OK line: guest data that would not fit is
  // beyond that credit, and resets the stream instead of growing anything.
  ByteRing to_host;
  size_t ok_line_bytes = 0;  // how much of to_host's front is the OK line, not guest data

  bool guest_shut_send = false;  // guest sends no more; SHUT_WR the host once to_host drains
  bool guest_shut_rcv = false;   // guest takes no more; stop reading the host socket
  bool host_eof = false;         // host socket's read side ended; SHUTDOWN(SEND) was queued
  bool host_hup = false;         // host closed its end; the fd left the epoll set
  bool host_wr_shut = false;
  bool in_ready_list = false;  // host socket readable, waiting for a guest RX buffer
  bool credit_update_queued = false;
  bool credit_request_sent = false;
  uint32_t epoll_events = 0;
};

}  // namespace kvrun::vmm::vsock
