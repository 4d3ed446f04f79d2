// kvrun-vmm's answers to bad configuration: exit status 1 and exactly one line
// "kvrun-vmm: <context>: <reason>" on stderr. The VMM validates all of this before it opens
// /dev/kvm, so these tests run on any machine (ctest label `unit`).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

#include "common/error.h"
#include "common/unique_fd.h"
#include "tests/vm/vm_assertions.h"
#include "tests/vm/vm_test_env.h"

namespace kvrun::test {
namespace {

using namespace std::chrono_literals;

// A file that exists for the lifetime of the object.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    std::string pattern = ::testing::TempDir() + "kvrun-vm-test-XXXXXX";
    UniqueFd fd(::mkstemp(pattern.data()));
    if (!fd) throw_errno("mkstemp " + pattern);
    path_ = pattern;
    if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
      throw_errno("write " + path_);
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

::testing::AssertionResult one_error_line(const ChildProcess& vm, const std::string& mentions) {
  const std::string& err = vm.stderr_text();
  if (!vm.status() || !vm.status()->exited || vm.status()->code != 1)
    return ::testing::AssertionFailure() << "expected exit status 1" << transcript(vm);
  if (count_lines(err) != 1 || err.rfind("kvrun-vmm: ", 0) != 0)
    return ::testing::AssertionFailure()
           << "expected exactly one stderr line starting with \"kvrun-vmm: \"" << transcript(vm);
  if (err.find(mentions) == std::string::npos)
    return ::testing::AssertionFailure()
           << "expected the error line to mention \"" << mentions << "\"" << transcript(vm);
  return ::testing::AssertionSuccess();
}

TEST(VmmErrors, MissingKernelIsOneLine) {
  const std::string path = ::testing::TempDir() + "no-such-kernel-" + unique_token();
  ChildProcess vm = run_vmm({"--kernel", path}, 30s);
  EXPECT_TRUE(one_error_line(vm, path));
  EXPECT_TRUE(one_error_line(vm, std::strerror(ENOENT)));
  EXPECT_EQ(vm.stdout_text(), "");
}

TEST(VmmErrors, GarbageKernelIsOneLine) {
  std::string garbage;
  for (int i = 0; i < 512; ++i) garbage += "not a kernel ";
  TempFile kernel(garbage);
  ChildProcess vm = run_vmm({"--kernel", kernel.path()}, 30s);
  EXPECT_TRUE(one_error_line(vm, kernel.path()));
  EXPECT_EQ(vm.stdout_text(), "");
}

TEST(VmmErrors, TruncatedElfIsOneLine) {
  // A valid-looking ELF64 identification and nothing else: the loader must bounds-check.
  TempFile kernel(std::string("\x7f"
                              "ELF\x02\x01\x01",
                              7) +
                  std::string(9, '\0'));
  ChildProcess vm = run_vmm({"--kernel", kernel.path()}, 30s);
  EXPECT_TRUE(one_error_line(vm, kernel.path()));
}

TEST(VmmErrors, MissingInitrdIsOneLine) {
  const std::string path = ::testing::TempDir() + "no-such-initrd-" + unique_token();
  ChildProcess vm = run_vmm({"--kernel", test_guest_path("hello"), "--initrd", path}, 30s);
  EXPECT_TRUE(one_error_line(vm, path));
}

TEST(VmmErrors, TooLittleMemoryIsOneLine) {
  ChildProcess vm = run_vmm({"--kernel", test_guest_path("hello"), "--memory", "8"}, 30s);
  EXPECT_TRUE(one_error_line(vm, "memory"));
  EXPECT_EQ(vm.stdout_text(), "");
}

}  // namespace
}  // namespace kvrun::test
