// Configuration errors, checked before /dev/kvm is touched, and how kvrun-vmm reports them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "vmm/vmm.h"

extern char** environ;

namespace kvrun::vmm {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "kvrun-config-" + std::to_string(::getpid()) + "-" + name;
}

class VmConfigTest : public ::testing::Test {
 protected:
  VmConfigTest() {
    std::ofstream(kernel_) << "pretend kernel";
    config_.kernel = kernel_;
  }
  ~VmConfigTest() override { fs::remove(kernel_); }

  std::string error_of(const VmConfig& c) {
    try {
      validate_config(c);
    } catch (const Error& e) {
      return e.what();
    }
    return "<accepted>";
  }

  const std::string kernel_ = temp_path("kernel");
  VmConfig config_;
};

TEST_F(VmConfigTest, DefaultsAreValid) {
  EXPECT_EQ(config_.memory_mib, 128u);
  EXPECT_EQ(config_.vcpus, 1u);
  EXPECT_EQ(config_.cmdline, kDefaultCmdline);
  EXPECT_NE(config_.cmdline.find("console=ttyS0"), std::string::npos);
  EXPECT_NO_THROW(validate_config(config_));
}

TEST_F(VmConfigTest, MemoryBounds) {
  config_.memory_mib = 8;
  EXPECT_EQ(error_of(config_), "guest memory 8 MiB is below the 16 MiB minimum");
  config_.memory_mib = 16;
  EXPECT_NO_THROW(validate_config(config_));
  config_.memory_mib = kMaxMemoryMib + 1;
  EXPECT_NE(error_of(config_).find("above"), std::string::npos);
  config_.memory_mib = ~0ull;  // must not wrap into an accepted size
  EXPECT_NE(error_of(config_).find("above"), std::string::npos);
}

TEST_F(VmConfigTest, VcpuBounds) {
  config_.vcpus = 0;
  EXPECT_EQ(error_of(config_), "vCPU count 0 is not between 1 and 32");
  config_.vcpus = 33;
  EXPECT_EQ(error_of(config_), "vCPU count 33 is not between 1 and 32");
  config_.vcpus = 32;
  EXPECT_NO_THROW(validate_config(config_));
}

TEST_F(VmConfigTest, Timeout) {
  config_.timeout = std::chrono::seconds(0);
  EXPECT_NE(error_of(config_).find("timeout"), std::string::npos);
  config_.timeout = std::chrono::seconds(1);
  EXPECT_NO_THROW(validate_config(config_));
}

TEST_F(VmConfigTest, KernelAndInitrdMustOpen) {
  config_.kernel = "/nonexistent/vmlinux";
  EXPECT_EQ(error_of(config_), "kernel /nonexistent/vmlinux: No such file or directory");
  config_.kernel = ::testing::TempDir();
  EXPECT_NE(error_of(config_).find("Is a directory"), std::string::npos);
  config_.kernel = kernel_;
  config_.initrd = "/nonexistent/initrd.cpio";
  EXPECT_EQ(error_of(config_), "initramfs /nonexistent/initrd.cpio: No such file or directory");
}

struct Result {
  int status = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs kvrun-vmm with stdin from /dev/null and stdout/stderr captured in files.
Result run_vmm(std::vector<std::string> args) {
  const std::string out = temp_path("stdout"), err = temp_path("stderr");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  args.insert(args.begin(), KVRUN_VMM_BINARY);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw_errno("posix_spawn " + args[0], rc);
  int status = 0;
  ::waitpid(pid, &status, 0);
  Result r{WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), slurp(out),
           slurp(err)};
  fs::remove(out);
  fs::remove(err);
  return r;
}

TEST(KvrunVmmBinary, MissingKernelIsExactlyOneLineAndStatus1) {
  const Result r = run_vmm({"--kernel", "/nonexistent/kvrun/vmlinux"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "kvrun-vmm: kernel /nonexistent/kvrun/vmlinux: No such file or directory\n");
  EXPECT_EQ(r.out, "");
}

TEST(KvrunVmmBinary, TooLittleMemoryIsReportedBeforeTheKernel) {
  const Result r = run_vmm({"--kernel", "/nonexistent/kvrun/vmlinux", "--memory", "8"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "kvrun-vmm: guest memory 8 MiB is below the 16 MiB minimum\n");
}

TEST(KvrunVmmBinary, UsageErrorsAreOneLine) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{},
                                             {"--kernel", "/x", "--cpus", "many"},
                                             {"--kernel", "/x", "--bogus"},
                                             {"--kernel", "/x", "--log-level", "loud"}}) {
    const Result r = run_vmm(args);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err.rfind("kvrun-vmm: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

TEST(KvrunVmmBinary, NotAKernelIsOneLine) {
  const std::string path = temp_path("garbage-kernel");
  std::ofstream(path) << std::string(4096, 'g');
  const Result r = run_vmm({"--kernel", path});
  fs::remove(path);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("kvrun-vmm: kernel " + path + ": ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(KvrunVmmBinary, HelpGoesToStdoutWithStatus0) {
  const Result r = run_vmm({"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--kernel"), std::string::npos);
  EXPECT_NE(r.out.find("--timeout"), std::string::npos);
}

TEST(KvrunVmmBinary, NoKvmIsOneLineNamingDevKvm) {
  if (::access("/dev/kvm", F_OK) == 0) GTEST_SKIP() << "this machine has /dev/kvm";
  const fs::path guest = fs::path(KVRUN_VMM_BINARY).parent_path() / "test-guests" / "hello.elf";
  if (!fs::exists(guest)) GTEST_SKIP() << guest << " not built";
  const Result r = run_vmm({"--kernel", guest.string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "kvrun-vmm: /dev/kvm: No such file or directory\n");
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace kvrun::vmm
