// Runs the real kvrun binary against a busybox-static bundle in a scratch directory, with a
// state root of its own, and checks afterwards that nothing was left behind.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kvrun::e2e {

struct Result {
  int status = -1;  // exit code, 128 + signal, or -1 if it timed out (then killed)
  std::string out, err;
};

struct RunOptions {
  std::string input;  // written to stdin, then EOF
  int timeout_seconds = 30;
  bool keep_stdin_open = false;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // kvrun --root <root> --sandbox <sandbox_> --rootfs-cache <scratch>/cache <args...>
  Result kvrun(const std::vector<std::string>& args, const RunOptions& options = {});
  // KVRUN_CLI_PATH with the global flags above, then args.
  std::vector<std::string> kvrun_argv(const std::vector<std::string>& args) const;
  // Starts kvrun without waiting; returns its PID (stdio: /dev/null in, out/err to files).
  pid_t spawn_kvrun(const std::vector<std::string>& args);

  // A bundle under the scratch dir whose process runs `sh -c script`; returns its directory.
  std::filesystem::path bundle(const std::string& name, const std::string& script,
                               const nlohmann::json& patch = nlohmann::json::object());
  nlohmann::json state(const std::string& id);
  // Processes whose command line mentions the state root: monitors, agents, containers' helpers.
  std::vector<pid_t> leftover_processes() const;
  void expect_nothing_left();

  // Every later command gets --sandbox vm, with this kvrun-vmm and initramfs (the kernel comes
  // from KVRUN_KERNEL or kvrun's cache).
  void use_vm_sandbox(const std::string& vmm, const std::string& initrd);

  std::filesystem::path scratch_, root_, rootfs_;
  std::string sandbox_ = "host";  // --sandbox for every command
};

// A config patch making a bundle part of pod `sandbox_id` as containerd's CRI plugin does:
// the pod's sandbox container when `sandbox`, else a member whose shared namespaces name
// (host) paths, which the pod's sandbox replaces.
nlohmann::json pod_patch(const std::string& sandbox_id, bool sandbox);

// Waits for pid (a child or, with the test as subreaper, an orphaned grandchild) and returns its
// status as a shell would show it; -1 if it was still running after 2 minutes (then killed).
int wait_status(pid_t pid);
bool process_exists(pid_t pid);
bool wait_until(const std::function<bool()>& condition, int timeout_ms);

}  // namespace kvrun::e2e
