// Needs root (label `root`): the virtio-net device on real virtqueues in guest memory and a
// real tap in a test namespace, driven the way a guest driver would, without KVM.
#include "vmm/devices/virtio/net/net_device.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "tests/unit/net/netns_fixture.h"
#include "vmm/devices/virtio/event_loop.h"
#include "vmm/devices/virtio/virtio_spec.h"

namespace kvrun::vmm::net {
namespace {

using namespace std::chrono_literals;
using virtio::Descriptor;
using virtio::UsedElement;

constexpr uint16_t kSize = 16;
constexpr MacAddress kMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

// The driver's side of one split ring at `base` (table, avail ring +0x1000, used ring +0x2000).
class Ring {
 public:
  Ring(GuestMemory& memory, GuestAddress base) : memory_(memory), base_(base) {}

  void setup(virtio::Queue& queue, uint64_t features) const {
    queue.set_size(kSize);
    queue.set_desc_table(base_);
    queue.set_avail_ring(base_ + 0x1000);
    queue.set_used_ring(base_ + 0x2000);
    queue.set_ready(true);
    queue.activate(memory_, features);
  }
  // One-descriptor chain over [addr, addr + len), published.
  uint16_t add(GuestAddress addr, uint32_t len, bool writable) {
    const auto head = static_cast<uint16_t>(avail_idx_ % kSize);
    memory_.write_obj(base_ + 16 * head,
                      Descriptor{addr, len, uint16_t(writable ? virtio::kDescFlagWrite : 0), 0});
    memory_.write_obj<uint16_t>(base_ + 0x1000 + 4 + 2 * head, head);
    memory_.write_obj<uint16_t>(base_ + 0x1000 + 2, ++avail_idx_);
    return head;
  }
  uint16_t used_idx() const { return memory_.read_obj<uint16_t>(base_ + 0x2000 + 2); }
  UsedElement used(uint16_t n) const {
    return memory_.read_obj<UsedElement>(base_ + 0x2000 + 4 + 8 * (n % kSize));
  }

 private:
  GuestMemory& memory_;
  GuestAddress base_;
  uint16_t avail_idx_ = 0;
};

std::vector<uint8_t> arp_request() {
  std::vector<uint8_t> f(60, 0);
  std::fill(f.begin(), f.begin() + 6, 0xff);
  std::copy(kMac.begin(), kMac.end(), f.begin() + 6);
  const uint8_t arp[] = {0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01};
  std::copy(std::begin(arp), std::end(arp), f.begin() + 12);
  std::copy(kMac.begin(), kMac.end(), f.begin() + 22);
  const uint8_t ips[] = {10, 209, 9, 2, 0, 0, 0, 0, 0, 0, 10, 209, 9, 1};
  std::copy(std::begin(ips), std::end(ips), f.begin() + 28);
  return f;
}

class NetDeviceTest : public ::testing::Test {
 protected:
  static constexpr GuestAddress kRxRing = 0x10000;
  static constexpr GuestAddress kTxRing = 0x20000;
  static constexpr GuestAddress kData = 0x100000;

  void SetUp() override {
    ns_.add_tap("kvt0", "10.209.9.1/24");
    device_ = std::make_unique<NetDevice>(Tap::open("kvt0", ns_.path()), kMac);
    features_ = device_->features() | virtio::feature_bit(virtio::kFeatureVersion1);
    rx_.setup(queues_[0], features_);
    tx_.setup(queues_[1], features_);
    context_ = std::make_unique<virtio::DeviceContext>(
        memory_, std::span<virtio::Queue>(queues_), interrupt_, features_,
        [this](int fd, uint32_t events, std::function<void(uint32_t)> callback) {
          watches_.push_back(loop_.add(fd, events, std::move(callback)));
        },
        [] {});
    device_->activate(*context_);
  }
  void TearDown() override {
    device_->reset();
    watches_.clear();
  }

  // Sends `frame` as a TX chain and runs the device.
  void transmit(const std::vector<uint8_t>& frame, GuestAddress at) {
    memory_.write_obj(at, NetHeader{});
    memory_.write(at + kNetHeaderBytes, frame);
    tx_.add(at, static_cast<uint32_t>(kNetHeaderBytes + frame.size()), false);
    device_->process_queue(NetDevice::kTxQueue);
  }

  // Resends the ARP request until an RX buffer is used (the tap's carrier comes up
  // asynchronously after attach, and replies before that are lost).
  bool arp_until_received() {
    const std::vector<uint8_t> request = arp_request();
    for (int attempt = 0; attempt < 10; ++attempt) {
      transmit(request, kData + 0x80000 + attempt * 0x100);
      const auto deadline = std::chrono::steady_clock::now() + 300ms;
      while (std::chrono::steady_clock::now() < deadline) {
        loop_.run_once(50);
        if (rx_.used_idx() > 0) return true;
      }
    }
    return false;
  }

  kvrun::test::TestNetns ns_;
  GuestMemory memory_ = GuestMemory::create(16 << 20);
  std::vector<virtio::Queue> queues_{virtio::Queue(NetDevice::kQueueSize),
                                     virtio::Queue(NetDevice::kQueueSize)};
  Ring rx_{memory_, kRxRing};
  Ring tx_{memory_, kTxRing};
  virtio::Interrupt interrupt_;
  EventLoop loop_;
  std::vector<EventLoop::Registration> watches_;
  uint64_t features_ = 0;
  std::unique_ptr<virtio::DeviceContext> context_;
  std::unique_ptr<NetDevice> device_;
};

TEST_F(NetDeviceTest, FrameOutAndReplyIntoABigGuestBuffer) {
  rx_.add(kData, 0x11000, true);
  ASSERT_TRUE(arp_until_received());
  EXPECT_GE(device_->stats().tx_frames, 1u);

  const UsedElement used = rx_.used(0);
  EXPECT_EQ(used.id, 0u);
  ASSERT_GE(used.len, kNetHeaderBytes + 42);
  const NetHeader header = memory_.read_obj<NetHeader>(kData);
  EXPECT_EQ(header.num_buffers, 1);
  EXPECT_EQ(header.gso_type, kGsoNone);
  std::vector<uint8_t> frame(used.len - kNetHeaderBytes);
  memory_.read(kData + kNetHeaderBytes, frame);
  EXPECT_TRUE(std::equal(kMac.begin(), kMac.end(), frame.begin())) << "to our MAC";
  EXPECT_EQ(frame[12], 0x08);
  EXPECT_EQ(frame[13], 0x06);
  EXPECT_EQ(frame[21], 2) << "an ARP reply";
  EXPECT_EQ(device_->stats().rx_frames, 1u);
  EXPECT_GE(interrupt_.status() & 1, 1u) << "used-buffer interrupt raised";
}

TEST_F(NetDeviceTest, SmallGuestBufferGetsACopy) {
  rx_.add(kData, kNetHeaderBytes + 1514, true);
  ASSERT_TRUE(arp_until_received());
  EXPECT_EQ(rx_.used(0).len, kNetHeaderBytes + 42) << "an ARP reply (the tap does not pad)";
  EXPECT_EQ(memory_.read_obj<NetHeader>(kData).num_buffers, 1);
}

TEST_F(NetDeviceTest, HostileTxChainsAreReturnedAndTheDeviceGoesOn) {
  // Too short for the header, then writable: both handed back with length 0.
  tx_.add(kData, 11, false);
  tx_.add(kData, 100, true);
  device_->process_queue(NetDevice::kTxQueue);
  EXPECT_EQ(tx_.used_idx(), 2);
  EXPECT_EQ(tx_.used(0).len, 0u);
  EXPECT_EQ(tx_.used(1).len, 0u);
  EXPECT_EQ(device_->stats().tx_dropped, 2u);
  EXPECT_EQ(device_->stats().tx_frames, 0u);

  rx_.add(kData + 0x40000, 0x11000, true);
  EXPECT_TRUE(arp_until_received()) << "a good frame after the bad ones still goes out";
}

TEST_F(NetDeviceTest, ConfigSpaceHoldsMacAndLinkUp) {
  uint8_t config[8] = {};
  device_->read_config(0, config);
  EXPECT_TRUE(std::equal(kMac.begin(), kMac.end(), config));
  EXPECT_EQ(config[6], kStatusLinkUp);
  EXPECT_EQ(config[7], 0);
  uint8_t past_end[4] = {1, 1, 1, 1};
  device_->read_config(6, past_end);
  EXPECT_EQ(past_end[0], 1);
  EXPECT_EQ(past_end[2], 0) << "bytes past the config read as zero";
}

}  // namespace
}  // namespace kvrun::vmm::net
