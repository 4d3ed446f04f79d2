// podman with everything under one scratch directory (storage, run root, kvrun's state root and
// rootfs cache), kvrun as its runtime, and a busybox image loaded once per suite.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace kvrun::e2e {

struct Result {
  int status = -1;  // exit code, 128 + signal, or -1 if it timed out (then killed)
  std::string out, err;
};

// Runs argv with stdin empty; on a timeout kills it and appends a process list to `err`.
Result run_command(const std::vector<std::string>& argv, int timeout_seconds);

class PodmanTest : public ::testing::Test {
 public:
  static constexpr const char* kImage = "localhost/kvrun-busybox:latest";

  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;

  // podman <global flags> <args...>, stdin empty.
  static Result podman(const std::vector<std::string>& args, int timeout_seconds = 180);
  enum class Network { kNone, kDefault };
  // `run <before_image...> <flags> IMAGE <command...>`. Every run gets ulimits a non-root-owned
  // hard limit allows (podman's default nofile of 1048576 may exceed it), and no network unless
  // the test is about podman's default one.
  static std::vector<std::string> run_args(std::vector<std::string> before_image,
                                           const std::vector<std::string>& command,
                                           Network network = Network::kNone);

 protected:
  // No podman containers, no kvrun state, no kvrun monitor, exec monitor or kvrun-vmm left.
  void expect_nothing_left();

  static std::filesystem::path state_root();  // kvrun's --root

  static std::filesystem::path scratch_;
  static std::string load_error_;
};

}  // namespace kvrun::e2e
