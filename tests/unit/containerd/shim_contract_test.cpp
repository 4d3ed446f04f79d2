// The parts of containerd's shim contract that are pure functions: the command line, the
// socket name, rootfs mount options and the metrics mapping.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/error_code.h"
#include "protocol/agent_error.h"
#include "shim/containerd/flags.h"
#include "shim/containerd/rootfs_mounts.h"
#include "shim/containerd/rpc_errors.h"
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

// The agent's reply as the host's decoder reads it (Client::call).
protocol::ContainerStats decoded_stats(const char* json) {
  protocol::ContainerStats stats;
  protocol::decode_reply_body("StatsContainer", nlohmann::json::parse(json), stats);
  return stats;
}

TEST(Metrics, AgentStatsBecomeCgroupsV2Metrics) {
  auto stats = decoded_stats(R"({
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
  using protocol::ReplyError;
  EXPECT_THROW(decoded_stats(R"({"cpu": {"usage_usec": -1}})"), ReplyError);
  EXPECT_THROW(decoded_stats(R"({"pids": {"current": "3"}})"), ReplyError);
  EXPECT_THROW(decoded_stats(R"({"memory": {"current": 1.5}})"), ReplyError);
  EXPECT_THROW(decoded_stats(R"({"memory": {"rss": 1}})"), ReplyError);
  // Missing groups are zeros, not errors: a guest without that controller.
  EXPECT_EQ(metrics_from_agent(decoded_stats("{}")).pids().current(), 0u);
}

// kvrun's and the agent's codes reach containerd as its error kinds, never by their words.
TEST(RpcErrors, EachCodeHasItsStatus) {
  using ttrpc::Code;
  EXPECT_EQ(rpc_code(ErrorCode::kNotFound), Code::kNotFound);
  EXPECT_EQ(rpc_code(ErrorCode::kAlreadyExists), Code::kAlreadyExists);
  EXPECT_EQ(rpc_code(ErrorCode::kInvalidArgument), Code::kInvalidArgument);
  EXPECT_EQ(rpc_code(ErrorCode::kFailedPrecondition), Code::kFailedPrecondition);
  EXPECT_EQ(rpc_code(ErrorCode::kInternal), Code::kUnknown);
}

ttrpc::RpcError rpc_error_of(const std::exception& e) {
  try {
    throw_rpc_error(e);
  } catch (const ttrpc::RpcError& rpc) {
    return rpc;
  }
}

TEST(RpcErrors, ErrorsKeepTheirCodeAndMessage) {
  auto agent = rpc_error_of(
      protocol::AgentError(ErrorCode::kNotFound, "SignalProcess: process c/e: has already exited"));
  EXPECT_EQ(agent.code(), ttrpc::Code::kNotFound);
  EXPECT_STREQ(agent.what(), "SignalProcess: process c/e: has already exited");
  // The words alone mean nothing: a plain Error that says "not running" is still Unknown.
  EXPECT_EQ(rpc_error_of(Error("kvrun kill: container not running")).code(), ttrpc::Code::kUnknown);
  EXPECT_EQ(rpc_error_of(CodedError(ErrorCode::kFailedPrecondition, "x")).code(),
            ttrpc::Code::kFailedPrecondition);
  EXPECT_EQ(rpc_error_of(ttrpc::RpcError(ttrpc::Code::kUnimplemented, "x")).code(),
            ttrpc::Code::kUnimplemented);
}

}  // namespace
}  // namespace kvrun::containerd
