// The host's rewrites of a config for a VM's agent (constrain_for_guest), one test per rule.
#include "shim/sandbox/guest_spec.h"

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace kvrun::sandbox {
namespace {

// A bundle whose config.json mounts match bundle.mounts, as load_bundle makes them.
oci::Bundle bundle_with(std::vector<oci::Mount> mounts, nlohmann::json namespaces) {
  oci::Bundle bundle;
  bundle.config = {{"ociVersion", "1.0.2"},
                   {"mounts", nlohmann::json::array()},
                   {"linux", {{"namespaces", std::move(namespaces)}}}};
  for (const auto& m : mounts) {
    bundle.config["mounts"].push_back({{"destination", m.destination},
                                       {"type", m.type},
                                       {"source", m.source},
                                       {"options", m.options}});
  }
  bundle.mounts = std::move(mounts);
  return bundle;
}

const nlohmann::json kNamespaces = {{{"type", "mount"}},
                                    {{"type", "network"}, {"path", "/run/netns/x"}},
                                    {{"type", "ipc"}, {"path", "/proc/1/ns/ipc"}}};

TEST(GuestSpec, WithNothingToConstrainTheConfigIsLeftAsItIs) {
  auto bundle = bundle_with({{"/proc", "proc", "proc", {}},
                             {"/etc/hosts", "bind", "/etc/hosts", {"rbind", "ro"}},
                             {"/dev/shm", "tmpfs", "shm", {"nosuid"}}},
                            kNamespaces);
  EXPECT_EQ(constrain_for_guest(bundle, {}), bundle.config);
}

TEST(GuestSpec, DevShmBindBecomesAGuestTmpfsWithTheBindsFlags) {
  testing::TempDir dir;
  auto bundle = bundle_with(
      {{"/proc", "proc", "proc", {}},
       {"/dev/shm", "bind", dir.path().string(), {"bind", "rprivate", "nosuid", "noexec"}}},
      kNamespaces);
  auto config = constrain_for_guest(bundle, {});
  EXPECT_EQ(config["mounts"][0], bundle.config["mounts"][0]);
  const auto& shm = config["mounts"][1];
  EXPECT_EQ(shm["type"], "tmpfs");
  EXPECT_EQ(shm["destination"], "/dev/shm");
  EXPECT_EQ(shm["source"], "shm");
  auto options = shm["options"].get<std::vector<std::string>>();
  ASSERT_GE(options.size(), 3u);
  EXPECT_EQ(options[0], "nosuid");
  EXPECT_EQ(options[1], "noexec");
  EXPECT_EQ(options[2], "mode=1777");
  // The rest of the config is the bundle's.
  config["mounts"] = bundle.config["mounts"];
  EXPECT_EQ(config, bundle.config);
}

TEST(GuestSpec, LoopbackOnlyNetworkLosesOnlyTheNetworkNamespacePath) {
  auto bundle = bundle_with({}, kNamespaces);
  auto config = constrain_for_guest(bundle, {.loopback_only_network = true});
  EXPECT_EQ(config["linux"]["namespaces"][0], (nlohmann::json{{"type", "mount"}}));
  EXPECT_EQ(config["linux"]["namespaces"][1], (nlohmann::json{{"type", "network"}}));
  EXPECT_EQ(config["linux"]["namespaces"][2]["path"], "/proc/1/ns/ipc");
  // With an uplink the guest is wired into that namespace: the path stays.
  EXPECT_EQ(constrain_for_guest(bundle, {.loopback_only_network = false}), bundle.config);
}

}  // namespace
}  // namespace kvrun::sandbox
