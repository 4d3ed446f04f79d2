// ChainReader and ChainWriter: any split of the guest's buffers reads and writes as one range,
// and no count the guest controls takes a cursor past the bytes it holds. The Hostile cases go
// through a real queue (the shared test driver plays the guest).
#include "vmm/devices/virtio/chain.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "tests/support/virtio/test_driver.h"
#include "vmm/devices/virtio/queue.h"

namespace kvrun::vmm::virtio {
namespace {

using test::TestDriver;

// 0, 1, 2, ... in `n` bytes.
std::vector<uint8_t> counting(size_t n) {
  std::vector<uint8_t> bytes(n);
  std::iota(bytes.begin(), bytes.end(), uint8_t{0});
  return bytes;
}

// A reader over `bytes` cut at `cuts` (offsets, ascending; equal ones make empty buffers).
ChainReader split_reader(std::span<const uint8_t> bytes, std::vector<size_t> cuts) {
  ChainReader reader;
  size_t from = 0;
  cuts.push_back(bytes.size());
  for (size_t cut : cuts) {
    reader.append(bytes.subspan(from, cut - from));
    from = cut;
  }
  return reader;
}

TEST(ChainReader, ZeroLengthBuffersAreSkipped) {
  const std::vector<uint8_t> bytes = counting(8);
  ChainReader reader = split_reader(bytes, {0, 0, 3, 3, 8});
  EXPECT_EQ(reader.available(), 8u);
  EXPECT_EQ(reader.parts().size(), 2u);  // only the non-empty ones
  std::vector<uint8_t> out(8);
  EXPECT_EQ(reader.read(out), 8u);
  EXPECT_EQ(out, bytes);
  EXPECT_EQ(reader.available(), 0u);
  EXPECT_TRUE(reader.parts().empty());
}

TEST(ChainReader, ReadsSpanBuffersAtEverySplit) {
  const std::vector<uint8_t> bytes = counting(16);
  uint64_t expected_first, expected_second;
  std::memcpy(&expected_first, bytes.data(), 8);
  std::memcpy(&expected_second, bytes.data() + 8, 8);
  for (size_t a = 0; a <= bytes.size(); ++a) {
    for (size_t b = a; b <= bytes.size(); ++b) {
      ChainReader reader = split_reader(bytes, {a, b});
      EXPECT_EQ(reader.read_obj<uint64_t>(), expected_first) << a << "," << b;
      EXPECT_EQ(reader.consumed(), 8u);
      EXPECT_EQ(reader.read_obj<uint64_t>(), expected_second) << a << "," << b;
      EXPECT_EQ(reader.available(), 0u);
    }
  }
}

TEST(ChainReader, ShortChainReadsNothingExactly) {
  const std::vector<uint8_t> bytes = counting(10);
  ChainReader reader = split_reader(bytes, {4});
  reader.skip(1);
  std::vector<uint8_t> out(16, 0xee);
  EXPECT_FALSE(reader.read_exact(out));
  EXPECT_EQ(reader.available(), 9u) << "a failed exact read consumes nothing";
  EXPECT_EQ(out, std::vector<uint8_t>(16, 0xee));
  EXPECT_FALSE((reader.read_obj<std::array<uint8_t, 10>>()));
  // A plain read copies what there is.
  EXPECT_EQ(reader.read(out), 9u);
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[8], 9);
  EXPECT_EQ(reader.read(out), 0u);
  EXPECT_FALSE(reader.read_obj<uint8_t>());
}

TEST(ChainReader, CountsFromTheGuestAreClipped) {
  const std::vector<uint8_t> bytes = counting(12);
  ChainReader reader = split_reader(bytes, {5});
  EXPECT_EQ(reader.skip(2), 2u);
  // A prefix taken across the split, then more than is left.
  ChainReader prefix = reader.take(6);
  ASSERT_EQ(prefix.parts().size(), 2u);
  EXPECT_EQ(prefix.parts()[0].data(), bytes.data() + 2);
  EXPECT_EQ(prefix.parts()[0].size(), 3u);
  EXPECT_EQ(prefix.parts()[1].size(), 3u);
  EXPECT_EQ(reader.available(), 4u);
  ChainReader rest = reader.take(0xffffffff);
  EXPECT_EQ(rest.available(), 4u);
  EXPECT_EQ(rest.parts()[0].data(), bytes.data() + 8);
  EXPECT_EQ(reader.available(), 0u);
  EXPECT_EQ(reader.skip(SIZE_MAX), 0u);
  EXPECT_EQ(reader.take(1).available(), 0u);
  // iovecs stop at their limit and leave the cursor where it is.
  const std::vector<iovec> iov = prefix.iovecs(4);
  ASSERT_EQ(iov.size(), 2u);
  EXPECT_EQ(iov[0].iov_len, 3u);
  EXPECT_EQ(iov[1].iov_len, 1u);
  EXPECT_EQ(prefix.available(), 6u);
}

TEST(ChainReader, TotalIsCappedAtTheUsedRingsRange) {
  // Views that are never dereferenced: only their sizes matter here.
  static uint8_t byte;
  const std::span<const uint8_t> huge(&byte, size_t{3} << 30);
  ChainReader reader;
  reader.append(huge);
  reader.append(huge);        // 6 GiB would not fit a used length: dropped
  reader.append({&byte, 1});  // and so is everything after it
  EXPECT_EQ(reader.available(), size_t{3} << 30);
  EXPECT_EQ(reader.parts().size(), 1u);
}

TEST(ChainWriter, WritesSpanBuffersAndStopAtTheEnd) {
  std::vector<uint8_t> a(3), b(0), c(4);
  const std::vector<std::span<uint8_t>> parts{a, b, c};
  ChainWriter writer(parts);
  EXPECT_EQ(writer.available(), 7u);
  const std::vector<uint8_t> in = counting(10);
  EXPECT_FALSE(writer.write_all(in));
  EXPECT_EQ(writer.available(), 7u) << "a write that does not fit writes nothing";
  EXPECT_EQ(a, std::vector<uint8_t>(3, 0));
  EXPECT_TRUE(writer.write_obj(uint16_t{0x0201}));
  EXPECT_EQ(writer.write(in), 5u);
  EXPECT_EQ(a, (std::vector<uint8_t>{1, 2, 0}));
  EXPECT_EQ(c, (std::vector<uint8_t>{1, 2, 3, 4}));
  EXPECT_FALSE(writer.write_obj(uint8_t{0}));
}

// --- through a real queue: what the guest marks is what the cursor sees ---------------------

class HostileChainTest : public ::testing::Test {
 protected:
  void SetUp() override { driver_.setup(queue_); }

  DescriptorChain pop() {
    std::optional<DescriptorChain> chain = queue_.pop();
    EXPECT_TRUE(chain.has_value());
    return chain ? std::move(*chain) : DescriptorChain(0, {}, {});
  }

  GuestMemory memory_ = GuestMemory::create(test::kTestMemoryBytes);
  Queue queue_{16};
  TestDriver driver_{memory_, 16};
};

TEST_F(HostileChainTest, DeviceWritableBuffersAreNotReadable) {
  // A device that expects a request finds no readable byte in an all-writable chain.
  driver_.add_chain({{driver_.alloc(64), 64, true}, {driver_.alloc(8), 8, true}});
  DescriptorChain chain = pop();
  EXPECT_EQ(chain.reader().available(), 0u);
  EXPECT_FALSE(chain.reader().read_obj<uint64_t>());
  EXPECT_EQ(chain.writer().available(), 72u);
}

TEST_F(HostileChainTest, DeviceReadableBuffersAreNotWritable) {
  const uint64_t buffer = driver_.alloc(64);
  memory_.write_obj<uint64_t>(buffer, 0x0123456789abcdef);
  driver_.add_chain({{buffer, 64, false}});
  DescriptorChain chain = pop();
  ChainWriter writer = chain.writer();
  EXPECT_EQ(writer.available(), 0u);
  EXPECT_FALSE(writer.write_obj(uint64_t{0}));
  EXPECT_EQ(memory_.read_obj<uint64_t>(buffer), 0x0123456789abcdefu);
}

TEST_F(HostileChainTest, ReaderAndWriterSplitAMixedChainWhereTheGuestDid) {
  const uint64_t header = driver_.alloc(16);
  const uint64_t data = driver_.alloc(512);
  const uint64_t status = driver_.alloc(1);
  memory_.write_obj<uint64_t>(header + 8, 42);
  driver_.add_chain({{header, 8, false},
                     {header + 8, 0, false},
                     {header + 8, 8, false},
                     {data, 512, true},
                     {status, 1, true}});
  DescriptorChain chain = pop();
  ChainReader reader = chain.reader();
  EXPECT_EQ(reader.available(), 16u);
  reader.skip(8);
  EXPECT_EQ(reader.read_obj<uint64_t>(), 42u);
  ChainWriter writer = chain.writer();
  ChainWriter payload = writer.take(writer.available() - 1);
  EXPECT_EQ(payload.available(), 512u);
  EXPECT_TRUE(writer.write_obj(uint8_t{7}));
  EXPECT_EQ(memory_.read_obj<uint8_t>(status), 7);
  EXPECT_EQ(memory_.read_obj<uint8_t>(data + 511), 0) << "the payload is untouched";
}

TEST_F(HostileChainTest, BufferPastGuestRamNeverReachesACursor) {
  // addr + len wraps around 2^64; and one that ends just past RAM.
  driver_.add_chain({{~uint64_t{0} - 7, 16, false}});
  driver_.add_chain({{test::kTestMemoryBytes - 8, 16, true}});
  const uint16_t good = driver_.add_chain({{driver_.alloc(4), 4, false}});
  DescriptorChain chain = pop();
  EXPECT_EQ(chain.head(), good);
  EXPECT_EQ(chain.reader().available(), 4u);
  EXPECT_EQ(queue_.malformed_chains(), 2u);
}

}  // namespace
}  // namespace kvrun::vmm::virtio
