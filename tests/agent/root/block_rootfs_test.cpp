// CreateContainer with a block device as rootfs (what the agent gets in a VM: /dev/vda): the
// agent mounts it read-only, overlays it if asked, and unmounts it with the container. The
// device here is a loop device over an image made from the suite's busybox rootfs.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "container_fixture.h"

namespace kvrun::agent::test {
namespace {

std::string command_output(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
  if (::pclose(pipe) != 0) return {};
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// A read-only loop device over image; detached on destruction (fails if still mounted).
class LoopDevice {
 public:
  explicit LoopDevice(const std::filesystem::path& image)
      : path_(command_output("losetup --find --show --read-only " + image.string())) {}
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;
  ~LoopDevice() {
    if (!path_.empty()) std::system(("losetup --detach " + path_).c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool mounted(const std::string& source) {
  std::ifstream in("/proc/self/mounts");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(source + " ", 0) == 0) return true;
  }
  return false;
}

class BlockRootfsAsRoot : public ContainerAsRoot,
                          public ::testing::WithParamInterface<std::string> {
 protected:
  // Builds an image of the busybox rootfs with the parameter's filesystem.
  std::filesystem::path make_image() {
    auto image = dir_.path() / ("rootfs." + GetParam());
    std::string command =
        GetParam() == "erofs"
            ? "mkfs.erofs --quiet " + image.string() + " " + rootfs_.string()
            : "mkfs.ext4 -q -d " + rootfs_.string() + " " + image.string() + " 16M";
    EXPECT_EQ(std::system((command + " >/dev/null").c_str()), 0) << command;
    return image;
  }
  std::filesystem::path lower_dir() const { return dir_.path() / "state/.lower"; }
};

TEST_P(BlockRootfsAsRoot, OverlayOnTheDeviceTakesWritesAndRemoveUnmountsIt) {
  LoopDevice loop(make_image());
  ASSERT_FALSE(loop.path().empty()) << "losetup failed";
  auto config = base_config({"/bin/sh", "-c", "echo new > /written && cat /written && ls /bin/sh"});
  config["root"]["readonly"] = false;
  AgentClient client(agent_->socket_path());
  auto created = client.call(
      "CreateContainer",
      {{"container_id", "blk"}, {"config", config}, {"rootfs", loop.path()}, {"overlay", true}});
  ASSERT_TRUE(created.ok) << created.error;
  EXPECT_TRUE(mounted(loop.path()));
  UniqueFd out = attach(agent_->socket_path(), "blk", "", "stdout");
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "blk"}}).ok);
  EXPECT_EQ(read_all(out.get()), "new\n/bin/sh\n");
  EXPECT_EQ(client.call("WaitProcess", {{"container_id", "blk"}}).body["exit_status"], 0);
  ASSERT_TRUE(client.call("RemoveContainer", {{"container_id", "blk"}}).ok);
  EXPECT_FALSE(mounted(loop.path()));
  EXPECT_FALSE(std::filesystem::exists(lower_dir() / "blk"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "state/blk"));
}

TEST_P(BlockRootfsAsRoot, WithoutOverlayTheRootfsIsReadOnly) {
  LoopDevice loop(make_image());
  ASSERT_FALSE(loop.path().empty()) << "losetup failed";
  auto config = base_config({"/bin/sh", "-c", "touch /written 2>/dev/null || echo read-only"});
  config["root"]["readonly"] = false;  // the mount itself must refuse writes
  AgentClient client(agent_->socket_path());
  auto created = client.call("CreateContainer",
                             {{"container_id", "ro"}, {"config", config}, {"rootfs", loop.path()}});
  ASSERT_TRUE(created.ok) << created.error;
  UniqueFd out = attach(agent_->socket_path(), "ro", "", "stdout");
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "ro"}}).ok);
  EXPECT_EQ(read_all(out.get()), "read-only\n");
  EXPECT_EQ(client.call("WaitProcess", {{"container_id", "ro"}}).body["exit_status"], 0);
  ASSERT_TRUE(client.call("RemoveContainer", {{"container_id", "ro"}}).ok);
  EXPECT_FALSE(mounted(loop.path()));
  EXPECT_FALSE(std::filesystem::exists(lower_dir() / "ro"));
}

TEST_P(BlockRootfsAsRoot, CreateFailingAfterTheMountUnmountsIt) {
  LoopDevice loop(make_image());
  ASSERT_FALSE(loop.path().empty()) << "losetup failed";
  // The overlay's scratch directory already exists: the overlay step fails after the mount.
  std::filesystem::create_directories(dir_.path() / "state/late");
  AgentClient client(agent_->socket_path());
  auto created = client.call("CreateContainer", {{"container_id", "late"},
                                                 {"config", base_config({"/bin/true"})},
                                                 {"rootfs", loop.path()},
                                                 {"overlay", true}});
  ASSERT_FALSE(created.ok);
  EXPECT_NE(created.error.find("state/late"), std::string::npos) << created.error;
  EXPECT_FALSE(mounted(loop.path()));
  EXPECT_FALSE(std::filesystem::exists(lower_dir() / "late"));
}

INSTANTIATE_TEST_SUITE_P(Filesystems, BlockRootfsAsRoot, ::testing::Values("erofs", "ext4"));

TEST_F(ContainerAsRoot, UnmountableBlockDeviceFailsCreateAndLeavesNothing) {
  auto image = dir_.path() / "zeros.img";
  std::filesystem::resize_file((std::ofstream(image), image), 4 << 20);
  LoopDevice loop(image);
  ASSERT_FALSE(loop.path().empty()) << "losetup failed";
  AgentClient client(agent_->socket_path());
  auto created = client.call("CreateContainer", {{"container_id", "bad"},
                                                 {"config", base_config({"/bin/true"})},
                                                 {"rootfs", loop.path()},
                                                 {"overlay", true}});
  ASSERT_FALSE(created.ok);
  EXPECT_NE(created.error.find("rootfs " + loop.path() + ": cannot mount read-only (erofs: "),
            std::string::npos)
      << created.error;
  EXPECT_FALSE(mounted(loop.path()));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "state/.lower/bad"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "state/bad"));
}

}  // namespace
}  // namespace kvrun::agent::test
