#include <gtest/gtest.h>

#include "common/error.h"
#include "shim/network/vm_network.h"

namespace kvrun::network {
namespace {

nlohmann::json spec_with(nlohmann::json namespaces) {
  return {{"linux", {{"namespaces", std::move(namespaces)}}}};
}

TEST(NetworkNamespacePath, ThePathOfTheNetworkEntry) {
  auto spec = spec_with(nlohmann::json::array(
      {{{"type", "pid"}}, {{"type", "network"}, {"path", "/run/netns/cni-1234"}}}));
  EXPECT_EQ(network_namespace_path(spec), std::filesystem::path("/run/netns/cni-1234"));
}

TEST(NetworkNamespacePath, NoEntryOrNoPathMeansNone) {
  EXPECT_EQ(network_namespace_path(nlohmann::json::object()), std::nullopt);
  EXPECT_EQ(network_namespace_path(spec_with(nlohmann::json::array({{{"type", "pid"}}}))),
            std::nullopt);
  EXPECT_EQ(network_namespace_path(spec_with(nlohmann::json::array({{{"type", "network"}}}))),
            std::nullopt);
}

TEST(NetworkNamespacePath, ARelativeOrEmptyPathIsRefusedByField) {
  for (nlohmann::json bad : {nlohmann::json("netns/x"), nlohmann::json(""), nlohmann::json(7)}) {
    auto spec = spec_with(nlohmann::json::array({{{"type", "network"}, {"path", bad}}}));
    try {
      network_namespace_path(spec);
      ADD_FAILURE() << "accepted " << bad.dump();
    } catch (const Error& e) {
      EXPECT_STREQ(e.what(), "config.json: linux.namespaces[0].path: must be an absolute path");
    }
  }
}

}  // namespace
}  // namespace kvrun::network
