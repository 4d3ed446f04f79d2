// The split virtqueue against a hostile driver: every malformed chain is refused without a
// host access outside guest RAM, and the queue keeps serving the chains after it.
#include "vmm/devices/virtio/queue.h"

#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "tests/support/virtio/test_driver.h"

namespace kvrun::vmm::virtio {
namespace {

using test::Buffer;
using test::TestDriver;

constexpr uint16_t kSize = 16;
constexpr uint64_t kIndirect = feature_bit(kFeatureRingIndirectDesc);
constexpr uint64_t kEventIdx = feature_bit(kFeatureRingEventIdx);

class QueueTest : public ::testing::Test {
 protected:
  void start(uint64_t features = 0) { driver_.setup(queue_, features); }

  // Pops the next chain, which must be the well-formed `head` after any malformed ones.
  void expect_next_is(uint16_t head) {
    auto chain = queue_.pop();
    ASSERT_TRUE(chain.has_value());
    EXPECT_EQ(chain->head(), head);
  }

  // Publishes `head` (already written), then checks it is dropped: returned used with length
  // 0, and a good chain published after it still comes out.
  void expect_malformed(uint16_t head) {
    driver_.publish(head);
    const uint16_t good = driver_.add_chain({{driver_.alloc(8), 8, false}});
    const uint64_t before = queue_.malformed_chains();
    expect_next_is(good);
    EXPECT_EQ(queue_.malformed_chains(), before + 1);
    EXPECT_FALSE(queue_.broken()) << queue_.broken_reason();
    const UsedElement used = driver_.used(driver_.used_idx() - 1);
    EXPECT_EQ(used.id, head);
    EXPECT_EQ(used.len, 0u);
  }

  GuestMemory memory_ = GuestMemory::create(test::kTestMemoryBytes);
  Queue queue_{kSize};
  TestDriver driver_{memory_, kSize};
};

TEST_F(QueueTest, PopsReadableThenWritableSegments) {
  start();
  const uint64_t a = driver_.alloc(16), b = driver_.alloc(100), c = driver_.alloc(1);
  memory_.write_obj<uint64_t>(a, 0x1122334455667788);
  const uint16_t head = driver_.add_chain({{a, 16, false}, {b, 100, true}, {c, 1, true}});
  auto chain = queue_.pop();
  ASSERT_TRUE(chain);
  EXPECT_EQ(chain->head(), head);
  ASSERT_EQ(chain->readable().size(), 1u);
  ASSERT_EQ(chain->writable().size(), 2u);
  EXPECT_EQ(chain->readable_bytes(), 16u);
  EXPECT_EQ(chain->writable_bytes(), 101u);
  EXPECT_EQ(chain->reader().read_obj<uint64_t>(), 0x1122334455667788u);
  // Writes land across segment boundaries, and stop at the end of the chain.
  const std::vector<uint8_t> bytes(10, 0xab);
  ChainWriter writer = chain->writer();
  EXPECT_EQ(writer.skip(95), 95u);
  EXPECT_EQ(writer.write(bytes), 6u);
  EXPECT_EQ(memory_.read_obj<uint8_t>(b + 99), 0xab);
  EXPECT_EQ(memory_.read_obj<uint8_t>(c), 0xab);
  EXPECT_FALSE(queue_.pop());
}

TEST_F(QueueTest, UsedRingGetsIdAndLength) {
  start();
  const uint16_t head = driver_.add_chain({{driver_.alloc(64), 64, true}});
  auto chain = queue_.pop();
  ASSERT_TRUE(chain);
  queue_.add_used(chain->head(), 42);
  EXPECT_EQ(driver_.used_idx(), 1);
  EXPECT_EQ(driver_.used(0).id, head);
  EXPECT_EQ(driver_.used(0).len, 42u);
}

TEST_F(QueueTest, BufferOutsideGuestRamIsRefused) {
  start();
  for (uint64_t addr : {test::kTestMemoryBytes - 4, uint64_t{0xd0000000}, ~uint64_t{0} - 8}) {
    expect_malformed(driver_.write_chain({{addr, 16, true}}));
  }
}

TEST_F(QueueTest, DescriptorLoopIsRefused) {
  start();
  driver_.set_desc(8, driver_.alloc(8), 8, kDescFlagNext, 9);
  driver_.set_desc(9, driver_.alloc(8), 8, kDescFlagNext, 8);
  expect_malformed(8);
}

TEST_F(QueueTest, ChainLongerThanTheQueueIsRefused) {
  start();
  // Every descriptor points to the next one, and the last one back to the first.
  for (uint16_t i = 0; i < kSize; ++i) {
    driver_.set_desc(i, driver_.alloc(4), 4, kDescFlagNext, static_cast<uint16_t>((i + 1) % kSize));
  }
  driver_.publish(3);
  EXPECT_FALSE(queue_.pop());
  EXPECT_EQ(queue_.malformed_chains(), 1u);
  EXPECT_EQ(driver_.used(0).id, 3u);
}

TEST_F(QueueTest, NextIndexOutsideTheTableIsRefused) {
  start();
  driver_.set_desc(13, driver_.alloc(4), 4, kDescFlagNext, kSize + 7);
  expect_malformed(13);
}

TEST_F(QueueTest, ReadableAfterWritableIsRefused) {
  start();
  expect_malformed(
      driver_.write_chain({{driver_.alloc(8), 8, true}, {driver_.alloc(8), 8, false}}));
  // Even when the writable descriptor before it is empty.
  expect_malformed(
      driver_.write_chain({{driver_.alloc(8), 0, true}, {driver_.alloc(8), 8, false}}));
}

TEST_F(QueueTest, ZeroLengthDescriptorsAreDropped) {
  start();
  const uint64_t a = driver_.alloc(8);
  driver_.add_chain({{a, 0, false}, {a, 8, false}, {0xffffffffffff0000, 0, true}});
  auto chain = queue_.pop();
  ASSERT_TRUE(chain);
  EXPECT_EQ(chain->readable().size(), 1u);
  EXPECT_TRUE(chain->writable().empty());
}

TEST_F(QueueTest, AvailableIndexWrapsAround) {
  start();
  // More than 65536 chains: both ring indices wrap, and every chain still comes out in order.
  const uint64_t buffer = driver_.alloc(8);
  for (uint32_t i = 0; i < 70000; ++i) {
    const uint16_t head = driver_.add_chain({{buffer, 8, true}});
    auto chain = queue_.pop();
    ASSERT_TRUE(chain) << i;
    ASSERT_EQ(chain->head(), head);
    queue_.add_used(head, 8);
  }
  EXPECT_EQ(driver_.used_idx(), static_cast<uint16_t>(70000));
  EXPECT_FALSE(queue_.broken());
}

TEST_F(QueueTest, AvailableIndexTooFarAheadBreaksTheQueue) {
  start();
  driver_.set_avail_idx(kSize + 1);
  EXPECT_FALSE(queue_.pop());
  EXPECT_TRUE(queue_.broken());
  EXPECT_NE(queue_.broken_reason().find("ahead"), std::string::npos);
  // A broken queue stays quiet: nothing is popped or written to the used ring any more.
  driver_.set_avail_idx(1);
  EXPECT_FALSE(queue_.pop());
  queue_.add_used(0, 1);
  EXPECT_EQ(driver_.used_idx(), 0);
}

TEST_F(QueueTest, HeadOutsideTheTableBreaksTheQueue) {
  start();
  driver_.publish(kSize);
  EXPECT_FALSE(queue_.pop());
  EXPECT_TRUE(queue_.broken());
}

TEST_F(QueueTest, ResetRestartsAtIndexZero) {
  start();
  driver_.set_avail_idx(kSize + 1);
  EXPECT_FALSE(queue_.pop());
  queue_.reset();
  EXPECT_FALSE(queue_.broken());
  EXPECT_FALSE(queue_.active());
  EXPECT_EQ(queue_.size(), kSize);
  EXPECT_FALSE(queue_.pop());
}

TEST_F(QueueTest, IndirectTableIsFollowed) {
  start(kIndirect);
  const GuestAddress table = driver_.alloc(3 * 16);
  const uint64_t a = driver_.alloc(16), b = driver_.alloc(512);
  driver_.set_desc(0, a, 16, kDescFlagNext, 2, table);
  driver_.set_desc(2, b, 512, kDescFlagWrite | kDescFlagNext, 1, table);
  driver_.set_desc(1, b, 1, kDescFlagWrite, 0, table);
  driver_.set_desc(15, table, 3 * 16, kDescFlagIndirect);
  driver_.publish(15);
  auto chain = queue_.pop();
  ASSERT_TRUE(chain);
  EXPECT_EQ(chain->head(), 15);
  EXPECT_EQ(chain->readable_bytes(), 16u);
  EXPECT_EQ(chain->writable_bytes(), 513u);
}

TEST_F(QueueTest, IndirectWithoutTheFeatureIsRefused) {
  start();
  const GuestAddress table = driver_.alloc(16);
  driver_.set_desc(0, driver_.alloc(8), 8, 0, 0, table);
  driver_.set_desc(15, table, 16, kDescFlagIndirect);
  expect_malformed(15);
}

TEST_F(QueueTest, BadIndirectTablesAreRefused) {
  start(kIndirect);
  const GuestAddress table = driver_.alloc(4 * 16);
  // Length not a multiple of 16, zero, above the limit, outside RAM.
  for (uint64_t len :
       {uint64_t{24}, uint64_t{0}, uint64_t{16} * (Queue::kMaxIndirectEntries + 1)}) {
    driver_.set_desc(11, table, static_cast<uint32_t>(len), kDescFlagIndirect);
    expect_malformed(11);
  }
  driver_.set_desc(11, test::kTestMemoryBytes - 16, 32, kDescFlagIndirect);
  expect_malformed(11);
  // Nested indirect.
  driver_.set_desc(0, table, 16, kDescFlagIndirect, 0, table);
  driver_.set_desc(11, table, 16, kDescFlagIndirect);
  expect_malformed(11);
  // A loop inside the table.
  driver_.set_desc(0, driver_.alloc(4), 4, kDescFlagNext, 1, table);
  driver_.set_desc(1, driver_.alloc(4), 4, kDescFlagNext, 0, table);
  driver_.set_desc(11, table, 2 * 16, kDescFlagIndirect);
  expect_malformed(11);
  // Next index past the table's end.
  driver_.set_desc(0, driver_.alloc(4), 4, kDescFlagNext, 2, table);
  expect_malformed(11);
  // INDIRECT together with NEXT, and INDIRECT after a direct descriptor.
  driver_.set_desc(0, driver_.alloc(4), 4, 0, 0, table);
  driver_.set_desc(11, table, 16, kDescFlagIndirect | kDescFlagNext, 12);
  expect_malformed(11);
  driver_.set_desc(11, driver_.alloc(4), 4, kDescFlagNext, 12);
  driver_.set_desc(12, table, 16, kDescFlagIndirect);
  expect_malformed(11);
}

TEST_F(QueueTest, ChainOfMoreThanFourGibIsRefused) {
  start(kIndirect);
  // 1024 descriptors all naming the same 8 MiB: 8 GiB in total, although guest RAM is 16 MiB.
  const GuestAddress table = driver_.alloc(16 * Queue::kMaxIndirectEntries);
  for (uint16_t i = 0; i < Queue::kMaxIndirectEntries; ++i) {
    const bool last = i + 1 == Queue::kMaxIndirectEntries;
    driver_.set_desc(i, 0, 8 << 20, kDescFlagWrite | (last ? 0 : kDescFlagNext),
                     static_cast<uint16_t>(i + 1), table);
  }
  driver_.set_desc(10, table, 16 * Queue::kMaxIndirectEntries, kDescFlagIndirect);
  expect_malformed(10);
}

TEST_F(QueueTest, LayoutIsCheckedAgainstGuestMemory) {
  Queue queue(kSize);
  queue.set_desc_table(TestDriver::kDesc);
  queue.set_avail_ring(TestDriver::kAvail);
  queue.set_used_ring(TestDriver::kUsed);
  EXPECT_FALSE(queue.check_layout(memory_));
  queue.set_size(12);  // not a power of two
  EXPECT_TRUE(queue.check_layout(memory_));
  queue.set_size(2 * kSize);  // above the maximum
  EXPECT_TRUE(queue.check_layout(memory_));
  queue.set_size(kSize);
  queue.set_desc_table(TestDriver::kDesc + 8);  // misaligned
  EXPECT_TRUE(queue.check_layout(memory_));
  queue.set_desc_table(TestDriver::kDesc);
  queue.set_used_ring(test::kTestMemoryBytes - 8);  // runs out of RAM
  EXPECT_TRUE(queue.check_layout(memory_));
  EXPECT_THROW(queue.activate(memory_, 0), Error);
  EXPECT_FALSE(queue.active());
  EXPECT_THROW(Queue(100), Error);
}

TEST_F(QueueTest, NoInterruptFlagSuppressesInterrupts) {
  start();
  EXPECT_FALSE(queue_.needs_interrupt());  // nothing used yet
  driver_.add_chain({{driver_.alloc(8), 8, true}});
  queue_.add_used(queue_.pop()->head(), 8);
  driver_.set_avail_flags(kAvailFlagNoInterrupt);
  EXPECT_FALSE(queue_.needs_interrupt());
  driver_.set_avail_flags(0);
  driver_.add_chain({{driver_.alloc(8), 8, true}});
  queue_.add_used(queue_.pop()->head(), 8);
  EXPECT_TRUE(queue_.needs_interrupt());
  EXPECT_FALSE(queue_.needs_interrupt());  // nothing new since
}

TEST_F(QueueTest, EventIdxInterruptsOnlyWhenUsedEventIsPassed) {
  start(kEventIdx);
  const uint64_t buffer = driver_.alloc(8);
  // The driver wants an interrupt once used idx passes 2 (i.e. reaches 3).
  driver_.set_used_event(2);
  for (int i = 0; i < 2; ++i) {
    driver_.add_chain({{buffer, 8, true}});
    queue_.add_used(queue_.pop()->head(), 8);
    EXPECT_FALSE(queue_.needs_interrupt()) << i;
  }
  driver_.add_chain({{buffer, 8, true}});
  queue_.add_used(queue_.pop()->head(), 8);
  EXPECT_TRUE(queue_.needs_interrupt());
}

TEST_F(QueueTest, EventIdxPublishesAvailEventAndSeesLateBuffers) {
  start(kEventIdx);
  const uint64_t buffer = driver_.alloc(8);
  driver_.add_chain({{buffer, 8, true}});
  ASSERT_TRUE(queue_.pop());
  EXPECT_FALSE(queue_.enable_notification());
  EXPECT_EQ(driver_.avail_event(), 1);
  driver_.add_chain({{buffer, 8, true}});  // arrives after the device looked
  EXPECT_TRUE(queue_.enable_notification());
}

}  // namespace
}  // namespace kvrun::vmm::virtio

namespace kvrun::vmm::virtio {
namespace {

TEST(QueueActivationTest, UsedRingStartsAtZeroWhateverTheMemoryHeld) {
  GuestMemory memory = GuestMemory::create(test::kTestMemoryBytes);
  memory.write_obj<uint16_t>(test::TestDriver::kUsed, kUsedFlagNoNotify);
  memory.write_obj<uint16_t>(test::TestDriver::kUsed + 2, 7);
  Queue queue(16);
  test::TestDriver driver(memory, 16);
  driver.setup(queue);
  EXPECT_EQ(memory.read_obj<uint16_t>(test::TestDriver::kUsed), 0);
  EXPECT_EQ(driver.used_idx(), 0);
  driver.add_chain({{driver.alloc(8), 8, true}});
  queue.add_used(queue.pop()->head(), 8);
  EXPECT_EQ(driver.used_idx(), 1);
}

}  // namespace
}  // namespace kvrun::vmm::virtio
