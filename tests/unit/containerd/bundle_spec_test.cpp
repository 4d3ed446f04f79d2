// What the shim drops from containerd's device rules before kvrun reads the spec.
#include "shim/containerd/bundle_spec.h"

#include <gtest/gtest.h>

namespace kvrun::containerd {
namespace {

nlohmann::json spec_with(nlohmann::json rules, nlohmann::json nodes) {
  nlohmann::json spec = {{"linux", {{"resources", {{"devices", std::move(rules)}}}}}};
  if (!nodes.is_null()) spec["linux"]["devices"] = std::move(nodes);
  return spec;
}

TEST(BundleSpec, HostAllowRulesGoButThoseOfListedNodesStay) {
  auto deny = nlohmann::json{{"allow", false}, {"access", "rwm"}};
  auto tty =
      nlohmann::json{{"allow", true}, {"type", "c"}, {"major", 5}, {"minor", 0}, {"access", "rwm"}};
  auto fuse = nlohmann::json{
      {"allow", true}, {"type", "c"}, {"major", 10}, {"minor", 229}, {"access", "rwm"}};
  auto any_char = nlohmann::json{{"allow", true}, {"type", "c"}, {"access", "m"}};
  auto spec = spec_with({deny, tty, fuse, any_char},
                        {{{"path", "/dev/fuse"}, {"type", "c"}, {"major", 10}, {"minor", 229}}});
  EXPECT_TRUE(drop_host_device_rules(spec));
  EXPECT_EQ(spec["linux"]["resources"]["devices"], nlohmann::json::array({deny, fuse}));

  // Without linux.devices every allow rule goes; a block node does not keep a char rule.
  spec = spec_with({deny, fuse}, nullptr);
  EXPECT_TRUE(drop_host_device_rules(spec));
  EXPECT_EQ(spec["linux"]["resources"]["devices"], nlohmann::json::array({deny}));
  spec =
      spec_with({deny, fuse}, {{{"path", "/dev/x"}, {"type", "b"}, {"major", 10}, {"minor", 229}}});
  EXPECT_TRUE(drop_host_device_rules(spec));
  EXPECT_EQ(spec["linux"]["resources"]["devices"], nlohmann::json::array({deny}));
  // Nothing to drop: the spec is left as it is.
  spec = spec_with({deny}, nullptr);
  EXPECT_FALSE(drop_host_device_rules(spec));
}

}  // namespace
}  // namespace kvrun::containerd
