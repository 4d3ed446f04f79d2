// linux.devices against a spec that tries to put a node outside the container's /dev, and the
// user-namespace path, where nodes are bound from the agent's /dev.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "root/container_fixture.h"

namespace kvrun::agent::test {
namespace {

class HostileDeviceNodesAsRoot : public ContainerAsRoot {};

// The spec's /dev is a directory whose "sub" is a symlink to /etc: a node at /dev/sub/x would
// be made on the image's /etc, a filesystem without nodev. Create fails before any node exists.
TEST_F(HostileDeviceNodesAsRoot, ASymlinkInDevDoesNotCarryANodeOutOfIt) {
  TempDir dev;
  std::filesystem::create_directory_symlink("/etc", dev.path() / "sub");
  auto config = base_config({"true"});
  config["mounts"][1] = {{"destination", "/dev"},
                         {"type", "bind"},
                         {"source", dev.path().string()},
                         {"options", {"rbind"}}};
  config["linux"]["devices"] = {
      {{"path", "/dev/sub/kmsg"}, {"type", "c"}, {"major", 1}, {"minor", 11}}};
  AgentClient client(agent_->socket_path());
  auto created = create(client, "escape", config);
  EXPECT_FALSE(created.ok);
  EXPECT_NE(
      created.error.find("linux.devices /dev/sub/kmsg: resolves outside the container's /dev"),
      std::string::npos)
      << created.error;
  EXPECT_FALSE(std::filesystem::exists(rootfs_ / "etc/kmsg"));
  EXPECT_FALSE(std::filesystem::exists("/etc/kmsg"));
}

// In a user namespace mknod is refused: the node is the agent's own, bound, and must be the
// device the spec names; a spec that names another device for the path is refused.
TEST_F(HostileDeviceNodesAsRoot, InAUserNamespaceNodesAreTheAgentsOwn) {
  auto config = base_config({"stat", "-c", "%t %T %n", "/dev/null", "/dev/zero"});
  config["linux"]["namespaces"].push_back({{"type", "user"}});
  config["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 300000}, {"size", 65536}}};
  config["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 300000}, {"size", 65536}}};
  config["linux"]["devices"] = {{{"path", "/dev/null"}, {"type", "c"}, {"major", 1}, {"minor", 3}}};
  auto result = run("userns-devices", config);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "1 3 /dev/null\n1 5 /dev/zero\n");

  config["linux"]["devices"] = {{{"path", "/dev/null"}, {"type", "c"}, {"major", 1}, {"minor", 2}}};
  AgentClient client(agent_->socket_path());
  auto created = create(client, "userns-mismatch", config);
  EXPECT_FALSE(created.ok);
  EXPECT_NE(created.error.find("/dev/null is not device 1:2"), std::string::npos) << created.error;
  // The agent's /dev/stdin is a symlink to /proc/self/fd/0 (in the guest, the console): never
  // followed to whatever node it names, even one of the spec's numbers.
  struct stat st;
  ASSERT_EQ(::stat("/dev/stdin", &st), 0);
  config["linux"]["devices"] = {{{"path", "/dev/stdin"},
                                 {"type", "c"},
                                 {"major", major(st.st_rdev)},
                                 {"minor", minor(st.st_rdev)}}};
  created = create(client, "userns-symlink", config);
  EXPECT_FALSE(created.ok);
  EXPECT_NE(created.error.find("/dev/stdin is not device"), std::string::npos) << created.error;
}

}  // namespace
}  // namespace kvrun::agent::test
