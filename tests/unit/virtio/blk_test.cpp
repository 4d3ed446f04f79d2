// virtio-blk requests on a real image file in /tmp, through a real queue: data goes where the
// sector says, nothing outside the image is touched, and every error is a status, not a crash.
#include "vmm/devices/virtio/blk.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "tests/support/virtio/test_driver.h"

namespace kvrun::vmm::virtio {
namespace {

using test::Buffer;
using test::TestDriver;
namespace fs = std::filesystem;

constexpr uint64_t kImageBytes = 64 * 1024 + 100;  // 128 sectors and a tail the guest never sees

class BlkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "kvrun-blk-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    image_ = dir_ / "disk.img";
    std::string content(kImageBytes, '\0');
    for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i / 512 + 1);
    std::ofstream(image_, std::ios::binary).write(content.data(), content.size());
    open(false);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void open(bool read_only) {
    blk_ = Blk::open(image_, read_only);
    queue_ = std::make_unique<Queue>(Blk::kQueueSize);
    driver_ = std::make_unique<TestDriver>(memory_, Blk::kQueueSize);
    driver_->setup(*queue_);
  }

  std::string file_bytes(uint64_t offset, size_t len) const {
    std::ifstream in(image_, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    std::string out(len, '\0');
    in.read(out.data(), static_cast<std::streamsize>(len));
    return out;
  }

  uint64_t header(uint32_t type, uint64_t sector) {
    const uint64_t addr = driver_->alloc(16);
    memory_.write_obj(addr, blk::RequestHeader{type, 0, sector});
    return addr;
  }

  // Runs one request chain; returns {status byte, used length}.
  std::pair<uint8_t, uint32_t> run(const std::vector<Buffer>& buffers, uint64_t status_addr) {
    memory_.write_obj<uint8_t>(status_addr, 0xee);
    driver_->add_chain(buffers);
    auto chain = queue_->pop();
    EXPECT_TRUE(chain);
    if (!chain) return {0xff, 0};
    const uint32_t used = blk_->handle(*chain);
    return {memory_.read_obj<uint8_t>(status_addr), used};
  }

  GuestMemory memory_ = GuestMemory::create(test::kTestMemoryBytes);
  fs::path dir_, image_;
  std::shared_ptr<Blk> blk_;
  std::unique_ptr<Queue> queue_;
  std::unique_ptr<TestDriver> driver_;
};

TEST_F(BlkTest, CapacityRoundsDownAndConfigSaysSo) {
  EXPECT_EQ(blk_->capacity_sectors(), 128u);
  uint8_t config[8];
  blk_->read_config(0, config);
  uint64_t capacity;
  std::memcpy(&capacity, config, 8);
  EXPECT_EQ(capacity, 128u);
  uint8_t seg_max[4];
  blk_->read_config(12, seg_max);
  EXPECT_EQ(seg_max[0], Blk::kSegMax);
  EXPECT_TRUE(blk_->features() & feature_bit(blk::kFeatureFlush));
  EXPECT_FALSE(blk_->features() & feature_bit(blk::kFeatureRo));
}

TEST_F(BlkTest, ReadsSectorsIntoScatteredBuffers) {
  const uint64_t h = header(blk::kTypeIn, 3);
  const uint64_t a = driver_->alloc(512), b = driver_->alloc(1024), s = driver_->alloc(1);
  auto [status, used] = run({{h, 16, false}, {a, 512, true}, {b, 1024, true}, {s, 1, true}}, s);
  EXPECT_EQ(status, blk::kStatusOk);
  EXPECT_EQ(used, 1536u + 1);
  EXPECT_EQ(memory_.read_obj<uint8_t>(a), 4);
  EXPECT_EQ(memory_.read_obj<uint8_t>(b + 1023), 6);
}

TEST_F(BlkTest, WritesLandAtTheSectorAndFlushSucceeds) {
  const uint64_t h = header(blk::kTypeOut, 10);
  const uint64_t data = driver_->alloc(1024), s = driver_->alloc(1);
  std::vector<uint8_t> bytes(1024, 0x5a);
  memory_.write(data, bytes);
  auto [status, used] = run({{h, 16, false}, {data, 1024, false}, {s, 1, true}}, s);
  EXPECT_EQ(status, blk::kStatusOk);
  EXPECT_EQ(used, 1u);
  EXPECT_EQ(file_bytes(10 * 512, 1024), std::string(1024, 0x5a));
  EXPECT_EQ(file_bytes(9 * 512, 1), std::string(1, 10));  // neighbours untouched
  EXPECT_EQ(file_bytes(12 * 512, 1), std::string(1, 13));
  const uint64_t f = header(blk::kTypeFlush, 0), s2 = driver_->alloc(1);
  EXPECT_EQ(run({{f, 16, false}, {s2, 1, true}}, s2).first, blk::kStatusOk);
}

TEST_F(BlkTest, HeaderSplitAcrossDescriptorsIsRead) {
  const uint64_t h = header(blk::kTypeIn, 1);
  const uint64_t data = driver_->alloc(512), s = driver_->alloc(1);
  auto [status, used] =
      run({{h, 5, false}, {h + 5, 11, false}, {data, 512, true}, {s, 1, true}}, s);
  EXPECT_EQ(status, blk::kStatusOk);
  EXPECT_EQ(memory_.read_obj<uint8_t>(data), 2);
}

TEST_F(BlkTest, RangesPastTheCapacityFailWithoutTouchingTheFile) {
  const std::string before = file_bytes(0, kImageBytes);
  const uint64_t data = driver_->alloc(1024), s = driver_->alloc(1);
  // Last sector + 1, a range straddling the end (into the invisible tail), a huge sector
  // whose byte offset would wrap around.
  for (uint64_t sector : {uint64_t{128}, uint64_t{127}, ~uint64_t{0} / 256}) {
    EXPECT_EQ(
        run({{header(blk::kTypeOut, sector), 16, false}, {data, 1024, false}, {s, 1, true}}, s)
            .first,
        blk::kStatusIoErr)
        << sector;
    EXPECT_EQ(
        run({{header(blk::kTypeIn, sector), 16, false}, {data, 1024, true}, {s, 1, true}}, s).first,
        blk::kStatusIoErr)
        << sector;
  }
  EXPECT_EQ(file_bytes(0, kImageBytes), before);
  EXPECT_EQ(fs::file_size(image_), kImageBytes);
}

TEST_F(BlkTest, PartialSectorIsAnError) {
  const uint64_t data = driver_->alloc(100), s = driver_->alloc(1);
  EXPECT_EQ(run({{header(blk::kTypeIn, 0), 16, false}, {data, 100, true}, {s, 1, true}}, s).first,
            blk::kStatusIoErr);
}

TEST_F(BlkTest, ReadOnlyDiskRefusesWrites) {
  open(true);
  EXPECT_TRUE(blk_->features() & feature_bit(blk::kFeatureRo));
  EXPECT_FALSE(blk_->features() & feature_bit(blk::kFeatureDiscard));
  const uint64_t data = driver_->alloc(512), s = driver_->alloc(1);
  EXPECT_EQ(run({{header(blk::kTypeOut, 0), 16, false}, {data, 512, false}, {s, 1, true}}, s).first,
            blk::kStatusIoErr);
  EXPECT_EQ(file_bytes(0, 1), std::string(1, 1));
}

TEST_F(BlkTest, GetIdReportsTheFileName) {
  const uint64_t id = driver_->alloc(20), s = driver_->alloc(1);
  auto [status, used] =
      run({{header(blk::kTypeGetId, 0), 16, false}, {id, 20, true}, {s, 1, true}}, s);
  EXPECT_EQ(status, blk::kStatusOk);
  EXPECT_EQ(used, 21u);
  char name[20];
  memory_.read(id, {reinterpret_cast<uint8_t*>(name), 20});
  EXPECT_STREQ(name, "disk.img");
}

TEST_F(BlkTest, UnknownTypeIsUnsupported) {
  const uint64_t s = driver_->alloc(1);
  EXPECT_EQ(run({{header(99, 0), 16, false}, {s, 1, true}}, s).first, blk::kStatusUnsupported);
}

TEST_F(BlkTest, ChainsWithoutHeaderOrStatusAreAnsweredWithNothing) {
  const uint64_t h = header(blk::kTypeIn, 0), s = driver_->alloc(1);
  driver_->add_chain({{h, 16, false}});  // no status byte
  auto chain = queue_->pop();
  ASSERT_TRUE(chain);
  EXPECT_EQ(blk_->handle(*chain), 0u);
  driver_->add_chain({{h, 8, false}, {s, 1, true}});  // short header
  chain = queue_->pop();
  ASSERT_TRUE(chain);
  memory_.write_obj<uint8_t>(s, 0xee);
  EXPECT_EQ(blk_->handle(*chain), 0u);
  EXPECT_EQ(memory_.read_obj<uint8_t>(s), 0xee);
}

TEST_F(BlkTest, DiscardPunchesZeroesWhereSupported) {
  if (!(blk_->features() & feature_bit(blk::kFeatureDiscard))) {
    GTEST_SKIP() << "the file system of " << dir_ << " does not punch holes";
  }
  const uint64_t seg = driver_->alloc(16), s = driver_->alloc(1);
  memory_.write_obj(seg, blk::DiscardSegment{8, 16, 0});
  EXPECT_EQ(
      run({{header(blk::kTypeDiscard, 0), 16, false}, {seg, 16, false}, {s, 1, true}}, s).first,
      blk::kStatusOk);
  EXPECT_EQ(file_bytes(8 * 512, 16 * 512), std::string(16 * 512, '\0'));
  EXPECT_EQ(file_bytes(24 * 512, 1), std::string(1, 25));
  EXPECT_EQ(fs::file_size(image_), kImageBytes);
  // Out of range, and the unmap flag (only valid for write-zeroes).
  memory_.write_obj(seg, blk::DiscardSegment{120, 16, 0});
  EXPECT_EQ(
      run({{header(blk::kTypeDiscard, 0), 16, false}, {seg, 16, false}, {s, 1, true}}, s).first,
      blk::kStatusIoErr);
  memory_.write_obj(seg, blk::DiscardSegment{0, 1, blk::kWriteZeroesFlagUnmap});
  EXPECT_EQ(
      run({{header(blk::kTypeDiscard, 0), 16, false}, {seg, 16, false}, {s, 1, true}}, s).first,
      blk::kStatusUnsupported);
  EXPECT_EQ(
      run({{header(blk::kTypeWriteZeroes, 0), 16, false}, {seg, 16, false}, {s, 1, true}}, s).first,
      blk::kStatusOk);
  EXPECT_EQ(file_bytes(0, 512), std::string(512, '\0'));
}

TEST_F(BlkTest, OpenErrorsNameThePath) {
  EXPECT_THROW(Blk::open(dir_ / "missing.img", false), Error);
  EXPECT_THROW(Blk::open(dir_, false), Error);
  std::ofstream(dir_ / "tiny.img") << "abc";
  try {
    Blk::open(dir_ / "tiny.img", false);
    FAIL() << "a 3-byte image was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tiny.img"), std::string::npos);
  }
}

}  // namespace
}  // namespace kvrun::vmm::virtio
