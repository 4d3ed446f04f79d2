// Shared fixture for container tests: one busybox rootfs per suite, a fresh kvrun-agent per
// test (so each test also proves the agent cleans up after itself on SIGTERM).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "agent_harness.h"

namespace kvrun::agent::test {

class ContainerAsRoot : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;  // SetUp fails each test with the reason
    rootfs_dir_ = std::make_unique<TempDir>();
    rootfs_ = make_busybox_rootfs(rootfs_dir_->path());
    // mkdtemp makes 0700 directories; root of a user namespace is an ordinary host uid.
    std::filesystem::permissions(rootfs_dir_->path(), std::filesystem::perms(0755));
  }
  static void TearDownTestSuite() { rootfs_dir_.reset(); }

  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "container tests need root (namespaces, mounts, pivot_root)";
    // This host's cgroup2 mount has no controllers: the agent must warn and carry on.
    agent_ = std::make_unique<AgentProcess>(
        dir_.path(), std::vector<std::string>{"--cgroup-root", "/sys/fs/cgroup/unified",
                                              "--state-dir", (dir_.path() / "state").string()});
  }
  void TearDown() override {
    if (HasFailure() && agent_) std::cerr << "---- agent log ----\n" << agent_->log();
  }

  RunResult run(const std::string& id, const nlohmann::json& config) {
    return run_container(agent_->socket_path(), id, config, rootfs_);
  }
  RunResult run_args(const std::string& id, const std::vector<std::string>& args) {
    return run(id, base_config(args));
  }
  protocol::ReplyEnvelope create(AgentClient& client, const std::string& id,
                                 const nlohmann::json& config, bool stdin = false) {
    return client.call(
        "CreateContainer",
        {{"container_id", id}, {"config", config}, {"rootfs", rootfs_.string()}, {"stdin", stdin}});
  }

  static inline std::unique_ptr<TempDir> rootfs_dir_;
  static inline std::filesystem::path rootfs_;
  TempDir dir_;
  std::unique_ptr<AgentProcess> agent_;
};

}  // namespace kvrun::agent::test
