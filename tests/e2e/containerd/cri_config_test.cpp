// The CRI runtime-class configuration that docs/containerd.md documents, loaded into a real
// containerd with its CRI plugin enabled: containerd must start, the CRI plugin must load
// ("ok"), and the merged configuration must carry the kvrun runtime.
#include <fstream>
#include <sstream>
#include <string>

#include "containerd_fixture.h"

namespace kvrun::e2e {
namespace {

// The first ```toml block after the "<!-- cri-config" marker in docs/containerd.md.
std::string documented_cri_config() {
  std::ifstream in(std::string(KVRUN_SOURCE_DIR) + "/docs/containerd.md");
  std::string line, block;
  bool marker = false, inside = false;
  while (std::getline(in, line)) {
    if (line.find("<!-- cri-config") != std::string::npos) marker = true;
    if (marker && !inside && line == "```toml") {
      inside = true;
      continue;
    }
    if (inside && line == "```") break;
    if (inside) block += line + "\n";
  }
  return block;
}

TEST(ContainerdCriConfigTest, DocumentedRuntimeClassConfigIsAccepted) {
  std::string config = documented_cri_config();
  ASSERT_NE(config.find("runtime_type = \"io.containerd.kvrun.v2\""), std::string::npos)
      << "docs/containerd.md has no CRI config block:\n"
      << config;
  Containerd containerd;
  containerd.start("vm", config, true);
  Result plugins = containerd.ctr({"plugins", "ls"});
  std::istringstream lines(plugins.out);
  std::string line, cri_line;
  while (std::getline(lines, line)) {
    if (line.find("io.containerd.grpc.v1") != std::string::npos &&
        line.find(" cri ") != std::string::npos) {
      cri_line = line;
    }
  }
  EXPECT_NE(cri_line.find(" ok"), std::string::npos) << plugins.out;
  Result dump = run(
      {"containerd", "--config", (containerd.scratch / "config.toml").string(), "config", "dump"});
  EXPECT_EQ(dump.status, 0) << dump.err;
  EXPECT_NE(dump.out.find("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.kvrun]"),
            std::string::npos)
      << dump.out;
  containerd.stop();
}

}  // namespace
}  // namespace kvrun::e2e
