// The multiplexer's test harness: real Unix sockets on the host side, the guest played by the
// test packet by packet (send() for its TX packets, drain()/wait_for() for what it receives).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "vmm/devices/virtio/vsock/muxer.h"

namespace kvrun::vmm::vsock::test {

namespace fs = std::filesystem;

inline constexpr uint64_t kGuestCid = 3;

struct RxPacket {
  Header header;
  std::string payload;
  Op op() const { return static_cast<Op>(header.op); }
};

inline size_t open_fd_count() {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

inline UniqueFd unix_connect(const fs::path& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return {};
  return fd;
}

inline UniqueFd unix_listen(const fs::path& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(::listen(fd.get(), SOMAXCONN), 0);
  return fd;
}

inline void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    ASSERT_GT(n, 0) << std::strerror(errno);
    data.remove_prefix(n);
  }
}

// Reads until `n` bytes or EOF/timeout; what it got.
inline std::string read_some(int fd, size_t n,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    char buf[65536];
    const ssize_t got = ::read(fd, buf, std::min(sizeof(buf), n - out.size()));
    if (got <= 0) break;
    out.append(buf, got);
  }
  return out;
}

// True if the peer closed within the timeout with nothing else to read: EOF, or ECONNRESET when
// it closed with bytes of ours unread.
inline bool reads_eof(int fd, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char c;
  const ssize_t n = ::read(fd, &c, 1);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

inline std::string read_line(int fd,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
  std::string line;
  while (line.empty() || line.back() != '\n') {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) break;
    char c;
    if (::read(fd, &c, 1) != 1) break;
    line.push_back(c);
  }
  return line;
}

class VsockMuxer : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kvrun-vsock-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    fds_before_ = open_fd_count();
  }
  void TearDown() override {
    mux_.reset();
    fs::remove_all(dir_);
    EXPECT_EQ(open_fd_count(), fds_before_) << "file descriptors leaked";
  }

  void make(MuxerConfig config = {}) {
    config.guest_cid = kGuestCid;
    config.uds_path = uds();
    mux_ = std::make_unique<Muxer>(config);
  }
  fs::path uds() const { return dir_ / "v.sock"; }

  // Lets the muxer handle whatever its host sockets have (waits up to `wait` for the first).
  void pump(std::chrono::milliseconds wait = std::chrono::milliseconds(50)) {
    pollfd p{mux_->fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) > 0) mux_->process_host_events();
    while (::poll(&p, 1, 0) > 0) mux_->process_host_events();
  }

  // Everything the guest would receive now, into RX buffers of `buffer` payload bytes.
  std::vector<RxPacket> drain(size_t buffer = 4096) {
    std::vector<RxPacket> out;
    std::vector<uint8_t> space(buffer);
    const std::vector<std::span<uint8_t>> parts{space};
    while (auto h = mux_->fill_rx(virtio::ChainWriter(parts))) {
      EXPECT_EQ(h->src_cid, kHostCid);
      EXPECT_EQ(h->dst_cid, kGuestCid);
      EXPECT_LE(h->len, buffer);
      out.push_back({*h, std::string(space.begin(), space.begin() + h->len)});
    }
    return out;
  }

  // Pumps and drains until a packet with `op` shows up; packets before it are dropped.
  std::optional<RxPacket> wait_for(
      Op op, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      while (!inbox_.empty()) {
        RxPacket p = inbox_.front();
        inbox_.pop_front();
        if (p.op() == op) return p;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      pump(std::chrono::milliseconds(10));
      for (auto& p : drain()) inbox_.push_back(p);
    }
  }

  void send(Op op, uint32_t host_port, uint32_t guest_port, std::string_view payload = {},
            uint32_t flags = 0, uint32_t buf_alloc = 262144, uint32_t fwd_cnt = 0) {
    GuestPacket p;
    p.header.src_cid = kGuestCid;
    p.header.dst_cid = kHostCid;
    p.header.src_port = guest_port;
    p.header.dst_port = host_port;
    p.header.op = static_cast<uint16_t>(op);
    p.header.len = static_cast<uint32_t>(payload.size());
    p.header.flags = flags;
    p.header.buf_alloc = buf_alloc;
    p.header.fwd_cnt = fwd_cnt;
    if (!payload.empty())
      p.payload.append({reinterpret_cast<const uint8_t*>(payload.data()), payload.size()});
    mux_->on_guest_packet(p);
  }

  // A host client through the CONNECT handshake to guest port `port`; returns its fd and the
  // local port the muxer picked.
  std::pair<UniqueFd, uint32_t> host_connect(uint32_t port) {
    UniqueFd client = unix_connect(uds());
    EXPECT_TRUE(client);
    write_all(client.get(), "CONNECT " + std::to_string(port) + "\n");
    auto req = wait_for(Op::kRequest);
    EXPECT_TRUE(req);
    if (!req) return {};
    EXPECT_EQ(req->header.dst_port, port);
    send(Op::kResponse, req->header.src_port, port);
    EXPECT_EQ(read_line(client.get()), "OK " + std::to_string(req->header.src_port) + "\n");
    return {std::move(client), req->header.src_port};
  }

  fs::path dir_;
  size_t fds_before_ = 0;
  std::unique_ptr<Muxer> mux_;
  std::deque<RxPacket> inbox_;
};

}  // namespace kvrun::vmm::vsock::test
