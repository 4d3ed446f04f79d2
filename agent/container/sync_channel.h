// The agent <-> child conversation during container and process creation, over a
// SOCK_SEQPACKET socketpair so every message keeps its boundaries. The child's end is
// close-on-exec: a successful execve shows up in the agent as end-of-file, and a failure as an
// "error" message carrying one line ("exec /bin/foo: No such file or directory").
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/unique_fd.h"

namespace kvrun::agent {

class SyncChannel {
 public:
  // Both ends close-on-exec.
  static std::pair<SyncChannel, SyncChannel> make_pair();

  SyncChannel() = default;
  explicit SyncChannel(UniqueFd fd) : fd_(std::move(fd)) {}

  void send(std::string_view message) const;
  // A message carrying a file descriptor (SCM_RIGHTS): a pty master for the agent.
  void send_fd(std::string_view message, int fd) const;
  // nullopt on end-of-file. Throws Error on timeout or a failed read. A negative timeout waits
  // forever. A descriptor that came with the message goes to *fd if given, else is closed.
  std::optional<std::string> receive(std::chrono::milliseconds timeout,
                                     UniqueFd* fd = nullptr) const;

  int fd() const { return fd_.get(); }
  bool valid() const { return fd_.valid(); }
  void close() { fd_.reset(); }

 private:
  UniqueFd fd_;
};

// Child-side messages.
inline constexpr std::string_view kMsgReady = "ready";  // created, waiting for start
inline constexpr std::string_view kMsgErrorPrefix = "error:";
inline constexpr std::string_view kMsgPidPrefix = "pid:";  // exec helper: the process's pid
inline constexpr std::string_view kMsgPty = "pty";         // with the pty master's fd
// Agent-side messages.
inline constexpr std::string_view kMsgSetupDone = "setup";  // id maps written, cgroup joined
inline constexpr std::string_view kMsgStart = "start";

}  // namespace kvrun::agent
