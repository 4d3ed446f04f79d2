// Where a terminal process's host end comes from: kvrun's --console-socket. kvrun's monitor
// connects to this listening socket and sends the pty master (as runc hands its console to
// containerd-shim-runc-v2). The socket lives in a private temporary directory: a bundle path
// with a 64-character container id is too long for a socket address.
#pragma once

#include <chrono>
#include <filesystem>

#include "common/unique_fd.h"

namespace kvrun::containerd {

class ConsoleSocket {
 public:
  // Creates the directory and the listening socket. Throws Error.
  ConsoleSocket();
  ~ConsoleSocket();  // removes both
  ConsoleSocket(const ConsoleSocket&) = delete;
  ConsoleSocket& operator=(const ConsoleSocket&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // The pty master kvrun sent; waits up to `timeout` for its connection. Throws Error.
  UniqueFd receive(std::chrono::milliseconds timeout);

 private:
  std::filesystem::path directory_;
  std::filesystem::path path_;
  UniqueFd listener_;
};

}  // namespace kvrun::containerd
