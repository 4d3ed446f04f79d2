// Hostile flow control, both ways, against the real multiplexer: a guest streaming into a host
// reader slower than itself, a guest ignoring the credit we advertise, and a host writer faster
// than the guest. In every case the VMM holds at most the advertised credit per stream, however
// many bytes pass: what a stream buffers never grows with what it has carried.
#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "tests/unit/vsock/muxer_fixture.h"
#include "vmm/devices/virtio/vsock/connect_line.h"

namespace kvrun::vmm::vsock {
namespace {

using namespace std::chrono_literals;
using namespace test;

constexpr uint32_t kHostPort = 5000;
constexpr uint32_t kGuestPort = 41000;
constexpr size_t kMiB = 1024 * 1024;

// Heap bytes in use by this process (malloc arenas plus mmapped chunks). Under a sanitizer's
// allocator this reads 0; the muxer's own count below still holds the line.
size_t heap_in_use() {
  const struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
}

// Byte `offset` of the test stream: a pattern that shows a lost, repeated or reordered byte.
char pattern_at(uint64_t offset) { return static_cast<char>(offset % 251); }

std::string pattern(uint64_t offset, size_t size) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = pattern_at(offset + i);
  return out;
}

// The guest's view of the host's receive credit, learnt from every packet the host sends.
struct GuestCredit {
  uint32_t host_buf_alloc = 0;
  uint32_t host_fwd_cnt = 0;
  uint32_t sent = 0;  // wraps, as on the wire
  void learn(const Header& h) {
    host_buf_alloc = h.buf_alloc;
    host_fwd_cnt = h.fwd_cnt;
  }
  uint32_t free_space() const {
    const uint32_t in_flight = sent - host_fwd_cnt;
    return in_flight >= host_buf_alloc ? 0 : host_buf_alloc - in_flight;
  }
};

class VsockFlowControl : public VsockMuxer {
 protected:
  void TearDown() override {
    listener_.reset();
    VsockMuxer::TearDown();
  }

  // A guest-initiated stream to the host listener at <uds>_5000; returns the host's end.
  UniqueFd open_guest_stream(GuestCredit& credit, uint32_t guest_buf_alloc = 262144) {
    listener_ = unix_listen(fs::path(uds().string() + "_" + std::to_string(kHostPort)));
    send(Op::kRequest, kHostPort, kGuestPort, {}, 0, guest_buf_alloc);
    auto response = wait_for(Op::kResponse);
    EXPECT_TRUE(response);
    if (!response) return {};
    credit.learn(response->header);
    UniqueFd server(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    EXPECT_TRUE(server);
    return server;
  }

  // Runs the muxer on whatever its host sockets have, without waiting.
  void pump_now() {
    pollfd p{mux_->fd(), POLLIN, 0};
    while (::poll(&p, 1, 0) > 0) mux_->process_host_events();
  }

  UniqueFd listener_;
};

// The case: a container streams stdout into a host reader slower than itself. The
// guest keeps to its credit, so nothing is refused; the stream's buffer must stay within the
// credit while 32 MiB pass through it (before the fix, it grew by every byte streamed).
TEST_F(VsockFlowControl, GuestStreamingIntoASlowReaderHoldsAtMostTheAdvertisedCredit) {
  make();
  GuestCredit credit;
  UniqueFd server = open_guest_stream(credit);
  ASSERT_TRUE(server);
  const uint32_t buf_alloc = credit.host_buf_alloc;
  ASSERT_EQ(buf_alloc, MuxerConfig{}.buf_alloc);

  constexpr uint64_t kTotal = 32 * kMiB;
  constexpr size_t kReadPerRound = 16 * 1024;  // the slow reader: less than the guest sends
  const size_t heap_before = heap_in_use();
  size_t heap_peak = heap_before, buffered_peak = 0, memory_peak = 0;
  uint64_t sent = 0, received = 0;
  bool bytes_ok = true;
  char buf[kReadPerRound];
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (uint64_t round = 0; received < kTotal; ++round) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "stalled at " << received;
    // The guest sends all its credit allows, in packets of at most 64 KiB.
    while (sent < kTotal && credit.free_space() > 0) {
      const size_t chunk = std::min<uint64_t>({credit.free_space(), kMaxPayload, kTotal - sent});
      send(Op::kRw, kHostPort, kGuestPort, pattern(sent, chunk));
      credit.sent += static_cast<uint32_t>(chunk);
      sent += chunk;
      buffered_peak = std::max(buffered_peak, mux_->buffered_bytes());
      memory_peak = std::max(memory_peak, mux_->buffer_memory());
    }
    ASSERT_EQ(mux_->connection_count(), 1u) << "a guest within its credit was reset";
    // The host reads a little.
    const ssize_t n = ::read(server.get(), buf, sizeof(buf));
    ASSERT_TRUE(n > 0 || (n < 0 && errno == EAGAIN)) << std::strerror(errno);
    for (ssize_t i = 0; i < n; ++i) bytes_ok = bytes_ok && buf[i] == pattern_at(received + i);
    if (n > 0) received += n;
    pump_now();
    for (const RxPacket& p : drain()) {
      ASSERT_NE(p.op(), Op::kRst);
      credit.learn(p.header);
    }
    if (round % 64 == 0) heap_peak = std::max(heap_peak, heap_in_use());
  }
  std::printf("streamed %llu MiB: muxer held at most %zu bytes in %zu of buffer, heap +%zd KiB\n",
              static_cast<unsigned long long>(kTotal / kMiB), buffered_peak, memory_peak,
              static_cast<ssize_t>(heap_peak - heap_before) / 1024);
  EXPECT_TRUE(bytes_ok) << "the host read other bytes than the guest sent";
  EXPECT_LE(buffered_peak, buf_alloc);
  EXPECT_LE(memory_peak, buf_alloc + kMaxOkLine);
  EXPECT_LT(heap_peak - heap_before, 4 * kMiB) << "the VMM's heap grew with the bytes streamed";
  EXPECT_EQ(mux_->stats().bad_packets, 0u);
}

// A guest that ignores our credit while the host reads nothing: the stream is reset once it
// oversteps, and until then the muxer never holds more than it advertised.
TEST_F(VsockFlowControl, GuestSendingBeyondItsCreditIsResetNeverBuffered) {
  MuxerConfig config;
  config.buf_alloc = 64 * 1024;
  make(config);
  GuestCredit credit;
  UniqueFd server = open_guest_stream(credit);
  ASSERT_TRUE(server);
  const size_t heap_before = heap_in_use();
  const std::string chunk = pattern(0, kMaxPayload);
  uint64_t sent = 0;
  size_t buffered_peak = 0;
  while (mux_->connection_count() == 1 && sent < 256 * kMiB) {
    send(Op::kRw, kHostPort, kGuestPort, chunk);
    sent += chunk.size();
    buffered_peak = std::max(buffered_peak, mux_->buffered_bytes());
  }
  std::printf("reset after %llu KiB (host socket + 64 KiB credit), held at most %zu bytes\n",
              static_cast<unsigned long long>(sent / 1024), buffered_peak);
  EXPECT_EQ(mux_->connection_count(), 0u) << "256 MiB beyond the credit and still open";
  EXPECT_LE(buffered_peak, config.buf_alloc);
  EXPECT_LT(sent, 16 * kMiB) << "the guest got far beyond its credit before the reset";
  EXPECT_LT(heap_in_use() - std::min(heap_in_use(), heap_before), 4 * kMiB);
  EXPECT_EQ(mux_->stats().bad_packets, 1u);
  EXPECT_TRUE(wait_for(Op::kRst));
}

// The other way: a host writer far faster than a guest that reads nothing. The muxer reads the
// host socket only into guest RX buffers and only as far as the guest's credit: the rest stays
// in the host's socket (its sender blocks), none of it in the VMM.
TEST_F(VsockFlowControl, HostWriterFasterThanTheGuestIsReadOnlyAsFarAsTheGuestsCredit) {
  make();
  GuestCredit credit;
  constexpr uint32_t kGuestBufAlloc = 64 * 1024;
  UniqueFd server = open_guest_stream(credit, kGuestBufAlloc);
  ASSERT_TRUE(server);
  const size_t heap_before = heap_in_use();
  const std::string chunk = pattern(0, 64 * 1024);
  size_t written = 0;
  auto fill_host_socket = [&] {
    for (;;) {
      const ssize_t n = ::send(server.get(), chunk.data(), chunk.size(), MSG_DONTWAIT);
      if (n <= 0) break;
      written += n;
    }
  };
  size_t to_guest = 0;
  for (int round = 0; round < 50; ++round) {
    fill_host_socket();
    pump_now();
    for (const RxPacket& p : drain(kMaxPayload))
      if (p.op() == Op::kRw) to_guest += p.payload.size();
  }
  std::printf("host wrote %zu KiB, the guest got %zu KiB\n", written / 1024, to_guest / 1024);
  EXPECT_EQ(to_guest, kGuestBufAlloc) << "more than the guest's credit was read for it";
  EXPECT_GT(written, to_guest) << "the host writer was never held back";
  EXPECT_EQ(mux_->buffer_memory(), 0u);
  EXPECT_LT(heap_in_use() - std::min(heap_in_use(), heap_before), 1 * kMiB);
  // The guest's reader takes 16 KiB: exactly that much more comes.
  send(Op::kCreditUpdate, kHostPort, kGuestPort, {}, 0, kGuestBufAlloc, 16 * 1024);
  for (int round = 0; round < 20; ++round) {
    pump_now();
    for (const RxPacket& p : drain(kMaxPayload))
      if (p.op() == Op::kRw) to_guest += p.payload.size();
  }
  EXPECT_EQ(to_guest, kGuestBufAlloc + 16 * 1024);
}

}  // namespace
}  // namespace kvrun::vmm::vsock
