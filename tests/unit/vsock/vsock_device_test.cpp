// The vsock device on real split virtqueues (the driver's side played by TestDriver): chains
// split anyhow, hostile packets, buffers too small for a header, and a stream end to end.
#include "vmm/devices/virtio/vsock/vsock_device.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "tests/support/virtio/test_driver.h"

namespace kvrun::vmm::virtio {
namespace {

namespace fs = std::filesystem;
using test::Buffer;
using test::TestDriver;
using vsock::Header;
using vsock::Op;

constexpr uint64_t kCid = 42;

class VsockDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kvrun-vsock-dev-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    rx_driver_.setup(queues_[0]);
    tx_driver_.setup(queues_[1]);
    device_ = std::make_unique<Vsock>(vsock::VsockConfig{kCid, dir_ / "v.sock"});
    // RX and TX rings live in separate memories (TestDriver's ring addresses are fixed); the
    // device only touches guest memory through the chains the queues hand it.
    context_ = std::make_unique<DeviceContext>(
        rx_memory_, std::span<Queue>(queues_), interrupt_, 0,
        [this](int fd, uint32_t, std::function<void(uint32_t)> callback) {
          watched_fd_ = fd;
          watch_ = std::move(callback);
        },
        [] {});
    device_->activate(*context_);
  }
  void TearDown() override {
    device_->reset();
    device_.reset();
    fs::remove_all(dir_);
  }

  // What the device thread does when the muxer's fd is readable.
  void serve_host(int timeout_ms = 200) {
    for (pollfd p{watched_fd_, POLLIN, 0}; ::poll(&p, 1, timeout_ms) > 0; timeout_ms = 20)
      watch_(EPOLLIN);
  }

  void send(const Header& h, const std::string& payload, std::vector<size_t> cuts = {}) {
    const vsock::WireHeader wire = vsock::encode(h);
    std::string bytes(wire.begin(), wire.end());
    bytes += payload;
    std::vector<Buffer> chain;
    size_t at = 0;
    cuts.push_back(bytes.size());
    for (size_t cut : cuts) {
      const uint64_t addr = tx_driver_.alloc(static_cast<uint32_t>(cut - at));
      tx_memory_.write(addr,
                       std::span(reinterpret_cast<const uint8_t*>(bytes.data()) + at, cut - at));
      chain.push_back({addr, static_cast<uint32_t>(cut - at), false});
      at = cut;
    }
    tx_driver_.add_chain(chain);
    device_->process_queue(Vsock::kTxQueue);
  }

  // Posts an RX buffer as Linux 6.1 does: header and 4 KiB payload in two descriptors.
  void post_rx(uint32_t header_len = 44, uint32_t payload_len = 4096) {
    std::vector<Buffer> chain{{rx_driver_.alloc(header_len), header_len, true}};
    if (payload_len) chain.push_back({rx_driver_.alloc(payload_len), payload_len, true});
    rx_bufs_[rx_driver_.add_chain(chain)] = chain;
    device_->process_queue(Vsock::kRxQueue);
  }

  // The n-th used RX buffer as header + payload.
  std::pair<Header, std::string> received(uint16_t n) {
    const UsedElement used = rx_driver_.used(n);
    std::vector<uint8_t> bytes;
    for (const Buffer& b : rx_bufs_.at(static_cast<uint16_t>(used.id))) {
      std::vector<uint8_t> part(b.len);
      rx_memory_.read(b.addr, part);
      bytes.insert(bytes.end(), part.begin(), part.end());
    }
    EXPECT_GE(used.len, 44u);
    vsock::WireHeader wire;
    std::copy_n(bytes.begin(), 44, wire.begin());
    const Header h = vsock::decode(wire);
    EXPECT_EQ(used.len, 44 + h.len);
    return {h, std::string(bytes.begin() + 44, bytes.begin() + 44 + h.len)};
  }

  Header guest_header(Op op, uint32_t host_port, uint32_t guest_port) {
    Header h;
    h.src_cid = kCid;
    h.dst_cid = vsock::kHostCid;
    h.src_port = guest_port;
    h.dst_port = host_port;
    h.op = static_cast<uint16_t>(op);
    h.buf_alloc = 65536;
    return h;
  }

  UniqueFd host_client() {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, (dir_ / "v.sock").c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    return fd;
  }

  fs::path dir_;
  GuestMemory rx_memory_ = GuestMemory::create(test::kTestMemoryBytes);
  GuestMemory tx_memory_ = GuestMemory::create(test::kTestMemoryBytes);
  std::vector<Queue> queues_{Queue(256), Queue(256), Queue(256)};
  TestDriver rx_driver_{rx_memory_, 256};
  TestDriver tx_driver_{tx_memory_, 256};
  Interrupt interrupt_;
  std::unique_ptr<DeviceContext> context_;
  std::unique_ptr<Vsock> device_;
  int watched_fd_ = -1;
  std::function<void(uint32_t)> watch_;
  std::map<uint16_t, std::vector<Buffer>> rx_bufs_;  // by head
};

TEST_F(VsockDevice, ConfigIsTheGuestCidLittleEndian) {
  std::array<uint8_t, 12> config{};
  device_->read_config(0, config);
  EXPECT_EQ(config[0], 42);
  for (size_t i = 1; i < config.size(); ++i) EXPECT_EQ(config[i], 0) << i;
  EXPECT_EQ(device_->type(), DeviceType::kVsock);
  EXPECT_EQ(device_->queue_max_sizes().size(), 3u);
}

TEST_F(VsockDevice, StreamEndToEndThroughTheRings) {
  ASSERT_GE(watched_fd_, 0) << "activate() watches the muxer";
  UniqueFd client = host_client();
  ASSERT_EQ(::write(client.get(), "CONNECT 1024\n", 13), 13);
  post_rx();
  serve_host();
  ASSERT_EQ(rx_driver_.used_idx(), 1);
  auto [request, none] = received(0);
  EXPECT_EQ(request.op, static_cast<uint16_t>(Op::kRequest));
  EXPECT_EQ(request.dst_cid, kCid);
  EXPECT_EQ(request.dst_port, 1024u);
  EXPECT_TRUE(interrupt_.status() & mmio::kInterruptUsedBuffer);

  // RESPONSE with its header split over three descriptors.
  send(guest_header(Op::kResponse, request.src_port, 1024), "", {10, 40});
  char line[64] = {};
  ASSERT_GT(::read(client.get(), line, sizeof(line)), 0);
  EXPECT_EQ(std::string(line), "OK " + std::to_string(request.src_port) + "\n");

  // Guest data: payload in its own descriptor, and one split in the middle of the header.
  Header rw = guest_header(Op::kRw, request.src_port, 1024);
  rw.len = 5;
  send(rw, "hello", {44});
  send(rw, "world", {20});
  char data[16] = {};
  size_t got = 0;
  while (got < 10) got += ::read(client.get(), data + got, sizeof(data) - got);
  EXPECT_EQ(std::string(data, 10), "helloworld");

  // Host data: 6000 bytes arrive as 4096 + 1904 in two buffers.
  const std::string big(6000, 'x');
  ASSERT_EQ(::write(client.get(), big.data(), big.size()), 6000);
  post_rx();
  post_rx();
  serve_host();
  ASSERT_EQ(rx_driver_.used_idx(), 3);
  auto [first, p1] = received(1);
  auto [second, p2] = received(2);
  EXPECT_EQ(first.op, static_cast<uint16_t>(Op::kRw));
  EXPECT_EQ(p1.size() + p2.size(), 6000u);
  EXPECT_EQ(p1 + p2, big);
}

TEST_F(VsockDevice, HostilePacketsAreConsumedAndCountedNotFollowed) {
  Header h = guest_header(Op::kRequest, 1024, 5000);
  h.src_cid = 3;  // not the guest's CID
  send(h, "");
  Header too_long = guest_header(Op::kRw, 1024, 5000);
  too_long.len = 1000;  // the chain holds 4 bytes of payload
  send(too_long, "abcd");
  tx_driver_.add_chain({{tx_driver_.alloc(20), 20, false}});  // shorter than a header
  device_->process_queue(Vsock::kTxQueue);
  EXPECT_EQ(tx_driver_.used_idx(), 3) << "every chain is returned";
  EXPECT_EQ(device_->bad_packets(), 3u);
  post_rx();
  EXPECT_EQ(rx_driver_.used_idx(), 0) << "nothing to say to the guest, not even RST";
}

TEST_F(VsockDevice, BufferTooSmallForAHeaderIsReturnedEmpty) {
  send(guest_header(Op::kRw, 1, 2), "");  // unknown stream: the device owes an RST
  post_rx(20, 0);
  EXPECT_EQ(rx_driver_.used_idx(), 1);
  EXPECT_EQ(rx_driver_.used(0).len, 0u);
  post_rx();
  EXPECT_EQ(rx_driver_.used_idx(), 2);
  auto [rst, none] = received(1);
  EXPECT_EQ(rst.op, static_cast<uint16_t>(Op::kRst));
}

}  // namespace
}  // namespace kvrun::vmm::virtio
