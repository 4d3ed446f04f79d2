// virtio-blk and virtio-rng with a real guest kernel (label `linux`): the guest reads a
// read-only disk whose contents the host knows, writes and flushes a read-write one that the
// host then reads back, fails to write the read-only one, and reads its hwrng.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/vm/vm_assertions.h"
#include "tests/vm/vm_test_env.h"

namespace kvrun::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr size_t kMiB = 1 << 20;
// Not a whole number of sectors: the guest must see 8 MiB and nothing of the tail.
constexpr size_t kVdaBytes = 8 * kMiB + 100;
constexpr size_t kVdbBytes = 4 * kMiB;

std::string read_file(const fs::path& path, size_t offset, size_t len) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string data(len, '\0');
  in.read(data.data(), static_cast<std::streamsize>(len));
  data.resize(static_cast<size_t>(in.gcount()));
  return data;
}

std::string sha256_of_prefix(const fs::path& path, size_t len) {
  const std::string command =
      "head -c " + std::to_string(len) + " '" + path.string() + "' | sha256sum";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  char buffer[128] = {};
  const size_t n = std::fread(buffer, 1, sizeof(buffer) - 1, pipe);
  ::pclose(pipe);
  return std::string(buffer, n).substr(0, 64);
}

class VirtioBlkVm : public ::testing::Test {
 protected:
  void SetUp() override {
    KVRUN_REQUIRE_KVM_AND_GUEST_KERNEL(kernel_);
    std::string templ = (fs::temp_directory_path() / "kvrun-virtio-blk-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    vda_ = dir_ / "vda.img";
    vdb_ = dir_ / "vdb.img";
    std::string pattern(kVdaBytes, '\0');
    uint32_t x = 12345;
    for (char& c : pattern) {
      x = x * 1103515245 + 12345;
      c = static_cast<char>(x >> 24);
    }
    std::ofstream(vda_, std::ios::binary).write(pattern.data(), kVdaBytes);
    std::ofstream(vdb_, std::ios::binary).write(std::string(kVdbBytes, '\xaa').data(), kVdbBytes);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::string kernel_;
  fs::path dir_, vda_, vdb_;
};

TEST_F(VirtioBlkVm, GuestReadsWritesFlushesAndSeesTheRng) {
  const std::string vda_sha = sha256_of_prefix(vda_, 8 * kMiB);
  ASSERT_EQ(vda_sha.size(), 64u);
  ChildProcess vm =
      run_vmm({"--kernel", kernel_, "--initrd", KVRUN_VIRTIO_BLK_INITRAMFS, "--cmdline",
               "console=ttyS0 reboot=k kvrun.vda_sha256=" + vda_sha, "--memory", "128", "--timeout",
               "120", "--disk", vda_.string() + ",ro", "--disk", vdb_.string(), "--rng"},
              180s);
  ASSERT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "blk: vda sectors=16384 vdb sectors=8192\n"));
  EXPECT_TRUE(stdout_has(vm, "blk: vda refused a write\n"));
  EXPECT_TRUE(stdout_has(vm, "blk: rng_current=virtio_rng.0\n"));
  EXPECT_TRUE(stdout_has(vm, "blk: hwrng read\n"));

  // What the guest wrote and flushed is in the file; the rest of vdb is untouched.
  EXPECT_EQ(read_file(vdb_, kMiB, 23), "kvrun-virtio-blk-marker");
  EXPECT_EQ(read_file(vdb_, kMiB - 16, 16), std::string(16, '\xaa'));
  if (serial_text(vm).find("blk: vdb discarded\n") != std::string::npos) {
    EXPECT_EQ(read_file(vdb_, 2 * kMiB, kMiB), std::string(kMiB, '\0'));
  }
  EXPECT_EQ(fs::file_size(vdb_), kVdbBytes);
  // The read-only image is byte for byte what it was, tail included.
  EXPECT_EQ(sha256_of_prefix(vda_, 8 * kMiB), vda_sha);
  EXPECT_EQ(fs::file_size(vda_), kVdaBytes);
}

}  // namespace
}  // namespace kvrun::test
