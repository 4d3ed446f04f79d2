#include "shim/containerd/stdio.h"

#include <fcntl.h>

#include "common/error.h"

namespace kvrun::containerd {
namespace {

// O_RDWR never blocks on a FIFO, whether or not the other side is open yet.
UniqueFd open_fifo_rdwr(const std::string& path, const char* what) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) throw_errno(std::string("open ") + what + " " + path);
  return fd;
}

}  // namespace

ProcessStdio::ProcessStdio(const StdioPaths& paths) {
  if (!paths.stdin_path.empty()) {
    stdin_keepalive_ = open_fifo_rdwr(paths.stdin_path, "stdin");
    // A read-only end of the same FIFO: opening it cannot block, we already hold a writer.
    stdin_read_ = UniqueFd(::open(paths.stdin_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!stdin_read_) throw_errno("open stdin " + paths.stdin_path);
  }
  if (!paths.stdout_path.empty()) stdout_ = open_fifo_rdwr(paths.stdout_path, "stdout");
  if (!paths.stderr_path.empty()) stderr_ = open_fifo_rdwr(paths.stderr_path, "stderr");
}

void ProcessStdio::release_child_ends() {
  stdin_read_.reset();
  stdout_.reset();
  stderr_.reset();
}

}  // namespace kvrun::containerd
