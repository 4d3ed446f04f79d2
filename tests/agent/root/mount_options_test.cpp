// runc's mount options that need more than mount(2) flags, observed from inside a container.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <filesystem>
#include <fstream>

#include "root/container_fixture.h"

namespace kvrun::agent::test {
namespace {

class MountOptionsAsRoot : public ContainerAsRoot {};

// A host directory with a tmpfs mounted below it: what "rbind" carries into the container.
class NestedMount {
 public:
  explicit NestedMount(const std::filesystem::path& dir) : dir_(dir) {
    std::filesystem::create_directories(dir_ / "sub");
    if (::mount("tmpfs", (dir_ / "sub").c_str(), "tmpfs", 0, "size=1m") != 0)
      throw std::runtime_error("mount tmpfs for the test");
  }
  ~NestedMount() { ::umount2((dir_ / "sub").c_str(), MNT_DETACH); }
  NestedMount(const NestedMount&) = delete;
  NestedMount& operator=(const NestedMount&) = delete;

 private:
  std::filesystem::path dir_;
};

// A container that tries to write at the top of /data, a bind of `host` with `options`, and in
// the tmpfs mounted below it, and prints each touch's status.
nlohmann::json write_test_config(const std::filesystem::path& host,
                                 const std::vector<std::string>& options) {
  auto config = base_config({"/bin/sh", "-c",
                             "touch /data/top; echo top=$?; touch /data/sub/below; echo below=$?"});
  config["mounts"].push_back({{"destination", "/data"},
                              {"type", "bind"},
                              {"source", host.string()},
                              {"options", options}});
  return config;
}

TEST_F(MountOptionsAsRoot, RroMakesTheBindAndEveryMountBelowItReadOnly) {
  TempDir host;
  NestedMount nested(host.path());
  auto result = run("rro", write_test_config(host.path(), {"rbind", "rro"}));
  // Before recursive options were read, "rro" went to the kernel as data, which a bind
  // ignores: both writes succeeded.
  EXPECT_EQ(result.out, "top=1\nbelow=1\n") << result.err;
  EXPECT_FALSE(std::filesystem::exists(host.path() / "top"));
  EXPECT_FALSE(std::filesystem::exists(host.path() / "sub/below"));
}

TEST_F(MountOptionsAsRoot, PlainRoLeavesTheMountsBelowWritableAsInRunc) {
  TempDir host;
  NestedMount nested(host.path());
  auto result = run("ro", write_test_config(host.path(), {"rbind", "ro"}));
  EXPECT_EQ(result.out, "top=1\nbelow=0\n") << result.err;
}

TEST_F(MountOptionsAsRoot, TmpcopyupStartsTheTmpfsWithTheImagesFiles) {
  // podman's --tmpfs asks for it. The container's own shell lives in the directory the tmpfs
  // covers: it runs only if the copy happened; writes go to the tmpfs, never to the image.
  auto config = base_config({"/bin/sh", "-c",
                             "echo x > /bin/new && cat /bin/new && grep -c tmpfs /proc/mounts"});
  config["mounts"].push_back({{"destination", "/bin"},
                              {"type", "tmpfs"},
                              {"source", "tmpfs"},
                              {"options", {"nosuid", "nodev", "tmpcopyup", "size=64m"}}});
  auto result = run("copyup", config);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out.substr(0, 2), "x\n") << result.out << result.err;
  EXPECT_FALSE(std::filesystem::exists(rootfs_ / "bin/new"));
}

TEST_F(MountOptionsAsRoot, WithoutTmpcopyupTheTmpfsHidesTheImagesFiles) {
  auto config = base_config({"/bin/sh", "-c", "ls /etc | wc -l"});
  config["mounts"].push_back({{"destination", "/etc"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  auto result = run("nocopyup", config);
  EXPECT_EQ(result.out, "0\n") << result.err;
}

}  // namespace
}  // namespace kvrun::agent::test
