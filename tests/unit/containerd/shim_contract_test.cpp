// The parts of containerd's shim contract that are pure functions: the command line, the
// socket name, rootfs mount options and the metrics mapping.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "shim/containerd/flags.h"
#include "shim/containerd/rootfs_mounts.h"
#include "shim/containerd/shim_socket.h"
#include "shim/containerd/stats.h"

namespace kvrun::containerd {
namespace {

TEST(ShimFlags, ParsesContainerdsStartCommandLine) {
  std::vector<std::string> args = {"-namespace",
                                   "default",
                                   "-address",
                                   "/run/containerd/containerd.sock",
                                   "-publish-binary",
                                   "/usr/bin/containerd",
                                   "-id",
                                   "c1",
                                   "-debug",
                                   "start"};
  ShimFlags flags = parse_flags(args);
  EXPECT_EQ(flags.ns, "default");
  EXPECT_EQ(flags.address, "/run/containerd/containerd.sock");
  EXPECT_EQ(flags.publish_binary, "/usr/bin/containerd");
  EXPECT_EQ(flags.id, "c1");
  EXPECT_TRUE(flags.debug);
  EXPECT_EQ(flags.action, "start");
}

TEST(ShimFlags, GoSyntaxVariantsAndDelete) {
  std::vector<std::string> args = {"--namespace=k8s.io", "-id=x", "-bundle", "/b",
                                   "-debug=false",       "delete"};
  ShimFlags flags = parse_flags(args);
  EXPECT_EQ(flags.ns, "k8s.io");
  EXPECT_EQ(flags.id, "x");
  EXPECT_EQ(flags.bundle, "/b");
  EXPECT_FALSE(flags.debug);
  EXPECT_EQ(flags.action, "delete");
  EXPECT_EQ(parse_flags(std::vector<std::string>{"-namespace", "n"}).action, "");  // the daemon
}

TEST(ShimFlags, BadCommandLinesAreOneLineErrors) {
  EXPECT_THROW(parse_flags(std::vector<std::string>{"-bogus", "x"}), Error);
  EXPECT_THROW(parse_flags(std::vector<std::string>{"-id"}), Error);
  EXPECT_THROW(parse_flags(std::vector<std::string>{"-debug=maybe"}), Error);
  EXPECT_THROW(parse_flags(std::vector<std::string>{"start", "extra"}), Error);
}

TEST(ShimSocket, NamedLikeContainerd16) {
  // sha256("/run/containerd/containerd.sock/default/c1"), as containerd's shim package names it.
  EXPECT_EQ(shim_socket_address("/run/containerd/containerd.sock", "default", "c1"),
            "unix:///run/containerd/s/"
            "d25aa4ef11a84e954e74a5bcff06557d0b6ea8d0c00243896f29826694bbd888");
  // filepath.Join cleans the path.
  EXPECT_EQ(shim_socket_address("/run/containerd//containerd.sock/", "default", "c1"),
            shim_socket_address("/run/containerd/containerd.sock", "default", "c1"));
  EXPECT_EQ(socket_path("unix:///run/containerd/s/ab"), "/run/containerd/s/ab");
  EXPECT_THROW(socket_path("/run/x"), Error);
  EXPECT_THROW(socket_path("unix://"), Error);
}

TEST(RootfsMounts, OptionsSplitIntoFlagsAndData) {
  MountFlags overlay =
      parse_mount_options({"index=off", "workdir=/w", "upperdir=/u", "lowerdir=/l1:/l2", "nodev"});
  EXPECT_EQ(overlay.flags, static_cast<unsigned long>(MS_NODEV));
  EXPECT_EQ(overlay.data, "index=off,workdir=/w,upperdir=/u,lowerdir=/l1:/l2");
  MountFlags bind = parse_mount_options({"rbind", "ro"});
  EXPECT_EQ(bind.flags, static_cast<unsigned long>(MS_BIND | MS_REC | MS_RDONLY));
  EXPECT_TRUE(bind.recursive_bind);
  EXPECT_EQ(bind.data, "");
  EXPECT_EQ(parse_mount_options({"ro", "rw"}).flags, 0u);
  EXPECT_THROW(parse_mount_options({"rshared"}), Error);
  EXPECT_THROW(parse_mount_options({""}), Error);
}

TEST(Metrics, AgentStatsBecomeCgroupsV2Metrics) {
  auto stats = nlohmann::json::parse(R"({
    "memory": {"current": 1048576, "max": null, "oom": 2, "oom_kill": 1},
    "cpu": {"usage_usec": 500, "user_usec": 300, "system_usec": 200},
    "pids": {"current": 3, "max": 100}})");
  auto metrics = metrics_from_agent(stats);
  EXPECT_EQ(metrics.GetTypeName(), "io.containerd.cgroups.v2.Metrics");
  EXPECT_EQ(metrics.memory().usage(), 1048576u);
  EXPECT_EQ(metrics.memory().usage_limit(), 0u);  // "max": unknown
  EXPECT_EQ(metrics.memory_events().oom(), 2u);
  EXPECT_EQ(metrics.memory_events().oom_kill(), 1u);
  EXPECT_EQ(metrics.cpu().usage_usec(), 500u);
  EXPECT_EQ(metrics.cpu().user_usec(), 300u);
  EXPECT_EQ(metrics.cpu().system_usec(), 200u);
  EXPECT_EQ(metrics.pids().current(), 3u);
  EXPECT_EQ(metrics.pids().limit(), 100u);
}

TEST(Metrics, GuestFiguresAreChecked) {
  EXPECT_THROW(metrics_from_agent(nlohmann::json::parse(R"({"cpu": {"usage_usec": -1}})")), Error);
  EXPECT_THROW(metrics_from_agent(nlohmann::json::parse(R"({"pids": {"current": "3"}})")), Error);
  EXPECT_THROW(metrics_from_agent(nlohmann::json::parse(R"({"memory": {"current": 1.5}})")), Error);
  // Missing groups are zeros, not errors: a guest without that controller.
  EXPECT_EQ(metrics_from_agent(nlohmann::json::object()).pids().current(), 0u);
}

}  // namespace
}  // namespace kvrun::containerd
