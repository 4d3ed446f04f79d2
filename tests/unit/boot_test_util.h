// Helpers shared by the memory and boot unit tests.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "common/error.h"
#include "common/unique_fd.h"

namespace kvrun::vmm::test_util {

// The message of the kvrun::Error that `fn` throws, or "<no error>".
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

// A file under $TMPDIR holding given bytes, removed when the test is done with it.
class TempFile {
 public:
  explicit TempFile(std::span<const uint8_t> contents) {
    std::string name = (std::filesystem::temp_directory_path() / "kvrun-test-XXXXXX").string();
    UniqueFd fd(::mkstemp(name.data()));
    if (!fd) throw_errno("mkstemp");
    path_ = name;
    size_t done = 0;
    while (done < contents.size()) {
      const ssize_t n = ::write(fd.get(), contents.data() + done, contents.size() - done);
      if (n < 0) throw_errno("write " + name);
      done += static_cast<size_t>(n);
    }
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace kvrun::vmm::test_util

// EXPECT that `haystack` contains `needle`, printing both when it does not.
#define EXPECT_HAS_SUBSTR(haystack, needle) \
  EXPECT_PRED_FORMAT2(::testing::IsSubstring, needle, haystack)
