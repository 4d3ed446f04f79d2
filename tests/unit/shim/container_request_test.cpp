#include "shim/sandbox/container_request.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace kvrun::sandbox {
namespace {

oci::Bundle bundle_with(std::vector<oci::Mount> mounts) {
  oci::Bundle bundle;
  bundle.dir = "/bundles/b";
  bundle.rootfs = "/bundles/b/rootfs";
  bundle.config = {{"ociVersion", "1.0.2"}};
  bundle.mounts = std::move(mounts);
  return bundle;
}

TEST(ContainerRequestTest, VmGetsTheConfigInlineAndAnOverlayOnTheDisk) {
  auto request = container_request("c1", bundle_with({}), SandboxKind::kVm);
  EXPECT_EQ(request.container_id, "c1");
  EXPECT_FALSE(request.bundle_path);
  EXPECT_EQ(request.config, (nlohmann::json{{"ociVersion", "1.0.2"}}));
  EXPECT_EQ(request.rootfs, kGuestRootfsDevice);
  EXPECT_TRUE(request.overlay);
  EXPECT_TRUE(request.stdin);
}

TEST(ContainerRequestTest, HostAgentReadsTheBundleInPlace) {
  auto request = container_request("c1", bundle_with({}), SandboxKind::kHost);
  EXPECT_EQ(request.bundle_path, "/bundles/b");
  EXPECT_EQ(request.rootfs, "/bundles/b/rootfs");
  EXPECT_FALSE(request.overlay);
}

TEST(ContainerRequestTest, VmRefusesHostDirectoryBindMountsNamingThem) {
  oci::Mount proc{"/proc", "proc", "proc", {}};
  oci::Mount data{"/data", "", "/", {"rbind", "ro"}};
  EXPECT_NO_THROW(check_mounts(bundle_with({proc}), SandboxKind::kVm));
  try {
    check_mounts(bundle_with({proc, data}), SandboxKind::kVm);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "config.json: mounts[1] (/data): bind mounts of host directories and devices are "
                 "not supported in a VM sandbox (source /)");
  }
  EXPECT_NO_THROW(check_mounts(bundle_with({proc, data}), SandboxKind::kHost));
}

}  // namespace
}  // namespace kvrun::sandbox
