// A real containerd (Debian's 1.6) for one test suite: config, state, content and sockets under
// a scratch directory, the kvrun shim on its PATH, a busybox image imported, stopped and
// removed afterwards. Tests drive it with `ctr` as a user would.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace kvrun::e2e {

struct Result {
  int status = -1;  // exit code, 128 + signal, or -1 on timeout (then killed)
  std::string out, err;
};

// Runs argv (PATH lookup) to completion with stdin from /dev/null.
Result run(const std::vector<std::string>& argv, int timeout_seconds = 60);
bool wait_until(const std::function<bool()>& condition, int timeout_ms);

struct Containerd {
  // Starts containerd with its own config; extra_config is appended to config.toml.
  // sandbox: "vm" or "host" (KVRUN_SANDBOX for the shim's kvrun).
  void start(const std::string& sandbox, const std::string& extra_config, bool cri);
  void stop();

  // ctr --address <socket> -n <ns> args...
  Result ctr(const std::vector<std::string>& args, int timeout_seconds = 120) const;
  // ctr at a terminal of rows x cols (a new pty is its stdio and controlling terminal); once
  // `prompt` shows on the terminal, `typed` is typed. out is everything the terminal showed.
  Result ctr_in_terminal(const std::vector<std::string>& args, unsigned short rows,
                         unsigned short cols, const std::string& prompt, const std::string& typed,
                         int timeout_seconds = 180) const;
  // Starts ctr in the background (stdout/stderr to <scratch>/<name>.out and .err); returns its
  // PID.
  pid_t spawn_ctr(const std::vector<std::string>& args, const std::string& name = "spawned") const;
  std::string spawned_output(const std::string& name = "spawned") const;

  std::filesystem::path kvrun_state(const std::string& id) const;
  // kvrun-vmm, or kvrun-agent for host sandboxes.
  std::string sandbox_executable() const;
  std::string log() const;  // containerd's log so far (the shim's lines included)
  // The ends of a container's logs (the shim's kvrun calls, kvrun's monitor, the VM console):
  // what a hung container was doing.
  std::string logs_of(const std::string& id) const;
  // Everything a finished container could leave behind, as failures naming the leftover.
  void expect_nothing_left(const std::vector<std::string>& ids) const;

  std::filesystem::path scratch;
  std::string address;  // containerd's gRPC socket
  std::string ns = "kvrun-test";
  std::string image = "kvrun.test/busybox:latest";
  pid_t pid = -1;
  bool ready = false;  // started and the image imported

 private:
  std::filesystem::path bundle_dir(const std::string& id) const;  // containerd's, for the shim
  std::filesystem::path kvrun_dir(const std::string& id) const;   // kvrun's state for id

  std::string sandbox_;
};

int wait_status(pid_t pid);
// Processes running the executable at `path` now (matched by file identity).
std::size_t count_processes(const std::string& path);
// "PID comm exe" of every process whose name starts with kvrun, for failure messages.
std::string kvrun_processes();

}  // namespace kvrun::e2e
