// Test helpers: temp dirs, a busybox rootfs, the real kvrun-agent binary on a unix socket, and a
// blocking client speaking docs/agent-protocol.md. Everything cleans up after itself.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "protocol/messages.h"

namespace kvrun::agent::test {

class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// <dir>/rootfs with /bin/busybox and one symlink per applet.
std::filesystem::path make_busybox_rootfs(const std::filesystem::path& dir);

class AgentProcess {
 public:
  // wrapper, if any, is a command line the agent runs under (e.g. unshare to make it PID 1).
  explicit AgentProcess(const std::filesystem::path& dir, std::vector<std::string> extra_args = {},
                        std::vector<std::string> wrapper = {});
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;
  // SIGTERM, then waits: the agent kills its containers on the way out.
  ~AgentProcess();
  const std::filesystem::path& socket_path() const { return socket_; }
  pid_t pid() const { return pid_; }
  std::string log() const;
  // Waits for the agent to exit on its own: its wait status, or -1 after the timeout (then it
  // is still running and the destructor stops it).
  int wait_exit(std::chrono::milliseconds timeout);

 private:
  std::filesystem::path socket_, log_;
  pid_t pid_ = -1;
};

UniqueFd connect_unix(const std::filesystem::path& path);

class AgentClient {
 public:
  explicit AgentClient(const std::filesystem::path& socket);
  protocol::ReplyEnvelope call(const std::string& type,
                               const nlohmann::json& body = nlohmann::json::object());
  // Sends a raw frame body (possibly invalid) and reads the reply.
  protocol::ReplyEnvelope call_raw(const std::string& frame_body);
  void send_bytes(const std::string& bytes);
  protocol::ReplyEnvelope read_reply();
  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
  std::uint64_t next_id_ = 1;
};

// Opens a stdio connection and returns it after the ok reply; throws on an error reply.
UniqueFd attach(const std::filesystem::path& socket, const std::string& container,
                const std::string& exec_id, const std::string& stream);
// Reads until end-of-file.
std::string read_all(int fd);

// A config that runs args in pid/net/ipc/uts/mount namespaces with proc, /dev, devpts, sysfs
// and a /tmp tmpfs.
nlohmann::json base_config(const std::vector<std::string>& args);
// The one-line error spec::parse_container_spec() gives for config, or "" when it parses.
std::string spec_error(const nlohmann::json& config);

// Runs a container to completion: create, attach stdout/stderr, start, wait, remove.
struct RunResult {
  int exit_status = -1;
  std::string out, err;
};
RunResult run_container(const std::filesystem::path& socket, const std::string& id,
                        const nlohmann::json& config, const std::filesystem::path& rootfs);

}  // namespace kvrun::agent::test
