// A process's stdio as containerd hands it over: paths of FIFOs the client (ctr, CRI) has
// created and opened on its side. Empty path = /dev/null.
#pragma once

#include <string>

#include "common/unique_fd.h"

namespace kvrun::containerd {

struct StdioPaths {
  std::string stdin_path;
  std::string stdout_path;
  std::string stderr_path;
};

class ProcessStdio {
 public:
  // Opens the FIFOs without blocking on a missing peer. Throws Error naming the path.
  explicit ProcessStdio(const StdioPaths& paths);

  // The fds the kvrun child gets as 0, 1, 2 (-1: none).
  int in() const { return stdin_read_.get(); }
  int out() const { return stdout_.get(); }
  int err() const { return stderr_.get(); }
  // After the child has its copies: ours would keep the client from seeing end of output.
  void release_child_ends();
  // CloseIO: the client has no more input; once the monitor has read what is buffered it sees
  // end of file.
  void close_stdin() { stdin_keepalive_.reset(); }

 private:
  UniqueFd stdin_read_;
  // A writer we hold, so that the container does not read end-of-file before the client opens
  // its end; dropped on CloseIO.
  UniqueFd stdin_keepalive_;
  UniqueFd stdout_;
  UniqueFd stderr_;
};

}  // namespace kvrun::containerd
