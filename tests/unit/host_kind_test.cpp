// PVM detection from /sys/module, on a fake sysfs tree.
#include "vmm/kvm/host_kind.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <initializer_list>
#include <string>

namespace kvrun::vmm {
namespace {

namespace fs = std::filesystem;

class FakeSysfs {
 public:
  explicit FakeSysfs(std::initializer_list<const char*> modules) {
    root_ = fs::path(::testing::TempDir()) /
            ("kvrun-sysfs-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(root_ / "module");
    for (const char* m : modules) fs::create_directories(root_ / "module" / m);
  }
  ~FakeSysfs() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const fs::path& root() const { return root_; }

 private:
  static inline int counter_ = 0;
  fs::path root_;
};

TEST(HostKind, PvmWhenOnlyKvmPvmIsLoaded) {
  FakeSysfs sys({"kvm", "kvm_pvm"});
  EXPECT_EQ(detect_host_kind(sys.root()), HostKind::kPvm);
}

TEST(HostKind, HardwareWhenVmxOrSvmBackendIsLoaded) {
  FakeSysfs intel({"kvm", "kvm_pvm", "kvm_intel"});
  EXPECT_EQ(detect_host_kind(intel.root()), HostKind::kHardware);
  FakeSysfs amd({"kvm", "kvm_pvm", "kvm_amd"});
  EXPECT_EQ(detect_host_kind(amd.root()), HostKind::kHardware);
  FakeSysfs plain({"kvm", "kvm_intel"});
  EXPECT_EQ(detect_host_kind(plain.root()), HostKind::kHardware);
}

TEST(HostKind, HardwareWhenNothingIsKnown) {
  FakeSysfs empty({});
  EXPECT_EQ(detect_host_kind(empty.root()), HostKind::kHardware);
  EXPECT_EQ(detect_host_kind("/nonexistent/kvrun/sysfs"), HostKind::kHardware);
}

TEST(HostKind, Names) {
  EXPECT_EQ(to_string(HostKind::kPvm), "pvm");
  EXPECT_EQ(to_string(HostKind::kHardware), "hardware");
}

}  // namespace
}  // namespace kvrun::vmm
