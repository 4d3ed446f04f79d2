// A sandbox's log (vmm.log: the guest console) stays under its cap however much is written,
// keeps the newest output, and its last line is still found for error messages.
#include "shim/sandbox/capped_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/error.h"
#include "shim/common/command.h"
#include "shim/sandbox/child_process.h"
#include "tests/unit/shim/temp_dir.h"

namespace kvrun::sandbox {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kCap = kMinLogMaxBytes;

uint64_t size_of(const std::filesystem::path& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `text` as the child would, then closes the child's end.
void write_as_child(CappedLog& log, const std::string& text) {
  UniqueFd child(::dup(log.child_fd()));
  log.close_child_fd();
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(child.get(), text.data() + done, text.size() - done);
    ASSERT_GT(n, 0);
    done += static_cast<size_t>(n);
  }
}

TEST(CappedLog, SmallOutputIsKeptAsIs) {
  testing::TempDir dir;
  const auto path = dir.path() / "vmm.log";
  {
    CappedLog log(path, kCap);
    write_as_child(log, "booting\nkvrun-vmm: something failed\n");
    EXPECT_TRUE(log.wait_closed(5s));
  }
  EXPECT_EQ(read_file(path), "booting\nkvrun-vmm: something failed\n");
  EXPECT_FALSE(std::filesystem::exists(CappedLog::rotated_path(path)));
  EXPECT_EQ(shim::last_line(read_capped_log(path)), "kvrun-vmm: something failed");
}

TEST(CappedLog, RotatesAtWholeLinesAndKeepsTheNewest) {
  testing::TempDir dir;
  const auto path = dir.path() / "vmm.log";
  std::string text;
  for (int i = 0; text.size() < 5 * kCap; ++i) text += "console line " + std::to_string(i) + "\n";
  text += "the last line\n";
  {
    CappedLog log(path, kCap);
    write_as_child(log, text);
    EXPECT_TRUE(log.wait_closed(5s));
  }
  const auto rotated = CappedLog::rotated_path(path);
  EXPECT_LE(size_of(path), kCap);
  EXPECT_LE(size_of(rotated), kCap);
  EXPECT_GT(size_of(rotated), kCap / 2);
  const std::string kept = read_capped_log(path);
  // The newest output, contiguous.
  ASSERT_GE(text.size(), kept.size());
  EXPECT_EQ(text.substr(text.size() - kept.size()), kept);
  EXPECT_EQ(shim::last_line(kept), "the last line");
}

TEST(CappedLog, CapBelowTheMinimumIsRefused) {
  testing::TempDir dir;
  EXPECT_THROW(CappedLog(dir.path() / "vmm.log", 1000), Error);
}

class HostileLog : public ::testing::Test {};

// What a flooding guest console does to vmm.log through a real child process's stdout and
// stderr: the state dir is tmpfs, so an uncapped log is host memory without limit.
TEST_F(HostileLog, FloodingChildKeepsItsLogUnderTheCap) {
  testing::TempDir dir;
  const auto path = dir.path() / "vmm.log";
  {
    ChildProcess child({"/bin/sh", "-c",
                        "i=0; while [ $i -lt 200 ]; do head -c 20000 /dev/zero | tr '\\0' x; "
                        "echo; i=$((i+1)); done; echo kvrun-vmm: the last word >&2"},
                       ChildOptions{path, -1, false, kCap});
    std::optional<int> status;
    for (int i = 0; i < 3000 && !(status = child.try_wait()); ++i) ::usleep(10000);
    ASSERT_EQ(status, 0);
    // Once reaped, the last output is in the log.
    EXPECT_EQ(shim::last_line(read_capped_log(path)), "kvrun-vmm: the last word");
  }
  EXPECT_LE(size_of(path), kCap);
  EXPECT_LE(size_of(CappedLog::rotated_path(path)), kCap);
}

}  // namespace
}  // namespace kvrun::sandbox
