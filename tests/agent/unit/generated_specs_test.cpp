// Specs as the usual generators write them (runc spec, crun spec, containerd's `ctr oci spec`)
// and the seccomp profile podman and containerd default to: the agent must take every one of
// them, as runc does, and compile the profile.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/container/seccomp.h"
#include "agent_harness.h"
#include "spec/spec.h"

namespace kvrun::agent {
namespace {

// Runs `command` in `dir` and returns its stdout; fails the test on a non-zero exit.
std::string output_of(const std::string& command, const std::filesystem::path& dir) {
  std::string full = "cd '" + dir.string() + "' && " + command + " 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (pipe == nullptr) return "";
  std::string out;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  int status = ::pclose(pipe);
  EXPECT_EQ(status, 0) << command << ": " << out;
  return out;
}

nlohmann::json generated(const std::string& generator) {
  test::TempDir dir;
  if (generator == "ctr") {
    // containerd's template: the image's entrypoint fills process.args in later (runc too
    // refuses a spec without them).
    auto config = nlohmann::json::parse(output_of("ctr oci spec", dir.path()));
    config["process"]["args"] = {"sh"};
    return config;
  }
  output_of(generator + " spec", dir.path());
  return nlohmann::json::parse(std::ifstream(dir.path() / "config.json"));
}

class GeneratedSpec : public ::testing::TestWithParam<std::string> {};

TEST_P(GeneratedSpec, IsAccepted) {
  auto config = generated(GetParam());
  spec::ContainerSpec spec;
  ASSERT_NO_THROW(spec = spec::parse_container_spec(config)) << config.dump(2);
  EXPECT_FALSE(spec.process.args.empty());
  EXPECT_TRUE(spec.linux_spec.has(spec::NamespaceType::kMount));
  EXPECT_FALSE(spec.linux_spec.masked_paths.empty());
}

INSTANTIATE_TEST_SUITE_P(Generators, GeneratedSpec, ::testing::Values("runc", "crun", "ctr"));

// containers-common's profile, which podman uses unless told otherwise; its personality rule
// has three conditions on one argument (the shape that failed with "Invalid argument").
TEST(GeneratedSpec, PodmansDefaultSeccompProfileCompiles) {
  std::ifstream in("/usr/share/containers/seccomp.json");
  ASSERT_TRUE(in) << "containers-common's seccomp.json (installed with podman)";
  auto config = generated("runc");
  config["linux"]["seccomp"] = nlohmann::json::parse(in);
  spec::ContainerSpec spec;
  ASSERT_NO_THROW(spec = spec::parse_container_spec(config));
  ASSERT_TRUE(spec.linux_spec.seccomp);
  EXPECT_NO_THROW(SeccompFilter::compile(*spec.linux_spec.seccomp));
}

}  // namespace
}  // namespace kvrun::agent
