// The agent's part of the spec's hooks: startContainer only (the host runs the other kinds),
// checked as strictly as the host checks them, hostile sizes included.
#include <gtest/gtest.h>

#include "agent_harness.h"
#include "common/error.h"
#include "protocol/messages.h"
#include "spec/hooks.h"
#include "spec/spec.h"

namespace kvrun::agent {
namespace {

using nlohmann::json;

std::string parse_error(const json& hooks) {
  auto c = test::base_config({"/bin/true"});
  c["hooks"] = hooks;
  try {
    spec::parse_container_spec(c);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

TEST(HooksSpec, StartContainerHooksAndTheAnnotationsForTheirState) {
  auto c = test::base_config({"/bin/true"});
  c["annotations"] = {{"a", "b"}};
  c["hooks"] = json::parse(R"({
      "startContainer": [{"path": "/x", "args": ["x", "1"], "env": ["A=1"], "timeout": 3},
                         {"path": "/y"}],
      "createRuntime": [{"path": "the host's business, not checked here"}],
      "poststop": "neither"})");
  auto spec = spec::parse_container_spec(c);
  ASSERT_EQ(spec.start_container_hooks.size(), 2u);
  EXPECT_EQ(spec.start_container_hooks[0],
            (Hook{"/x", {"x", "1"}, std::vector<std::string>{"A=1"}, std::chrono::seconds(3)}));
  EXPECT_EQ(spec.start_container_hooks[1], (Hook{"/y", {}, std::nullopt, std::nullopt}));
  EXPECT_EQ(spec.annotations, (std::map<std::string, std::string>{{"a", "b"}}));
  EXPECT_TRUE(
      spec::parse_container_spec(test::base_config({"/bin/true"})).start_container_hooks.empty());
}

TEST(HooksSpec, MalformedHooksAreNamed) {
  EXPECT_EQ(parse_error(json::array()), "config.hooks: expected an object");
  EXPECT_EQ(parse_error({{"startContainer", json::object()}}),
            "config.hooks.startContainer: expected an array");
  EXPECT_EQ(parse_error({{"startContainer", {{{"path", "x"}}}}}),
            "config.hooks.startContainer[0].path: must be an absolute path");
  EXPECT_EQ(parse_error({{"startContainer", {{{"path", "/x"}, {"timeout", 0}}}}}),
            "config.hooks.startContainer[0].timeout: expected an integer in [1, 86400]");
  EXPECT_EQ(parse_error({{"startContainer", {json::object()}}}),
            "config.hooks.startContainer[0].path: required field is missing");
}

TEST(HostileHooksSpec, CountsAndSizesAreBounded) {
  json many = json::array();
  for (int i = 0; i < 65; ++i) many.push_back({{"path", "/x"}});
  EXPECT_EQ(parse_error({{"startContainer", many}}),
            "config.hooks.startContainer: more than 64 hooks");
  json args = json::array();
  for (int i = 0; i < 257; ++i) args.push_back("a");
  EXPECT_EQ(parse_error({{"startContainer", {{{"path", "/x"}, {"env", args}}}}}),
            "config.hooks.startContainer[0].env: more than 256 entries");
  EXPECT_EQ(parse_error({{"startContainer", {{{"path", std::string("/x\0y", 4)}}}}}),
            "config.hooks.startContainer[0].path: contains a NUL byte");
}

TEST(HooksSpec, TheHostsBundleTravelsWithCreateContainerForTheirState) {
  protocol::CreateContainer sent;
  sent.container_id = "c1";
  sent.config = json::object();
  sent.state_bundle = "/host/bundle";
  auto received = std::get<protocol::CreateContainer>(
      protocol::decode_request(protocol::encode_request({1, sent})).body);
  EXPECT_EQ(received.state_bundle, std::optional<std::string>("/host/bundle"));
  sent.state_bundle.reset();
  received = std::get<protocol::CreateContainer>(
      protocol::decode_request(protocol::encode_request({1, sent})).body);
  EXPECT_FALSE(received.state_bundle.has_value());
}

}  // namespace
}  // namespace kvrun::agent
