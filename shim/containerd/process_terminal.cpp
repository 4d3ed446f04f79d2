#include "shim/containerd/process_terminal.h"

#include <fcntl.h>

#include "common/error.h"

namespace kvrun::containerd {
namespace {

UniqueFd duplicate(int fd, const char* what) {
  UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
  if (!copy) throw_errno(std::string("dup the ") + what);
  return copy;
}

}  // namespace

ProcessTerminal::ProcessTerminal(UniqueFd master, int stdin_fifo, int stdout_fifo)
    : stdin_(stdin_fifo >= 0 ? duplicate(stdin_fifo, "stdin FIFO") : UniqueFd()),
      // Without a reader the terminal's output would fill up and stall the process.
      stdout_(stdout_fifo >= 0 ? duplicate(stdout_fifo, "stdout FIFO")
                               : UniqueFd(::open("/dev/null", O_WRONLY | O_CLOEXEC))) {
  if (!stdout_) throw_errno("open /dev/null");
  UniqueFd master_for_input = duplicate(master.get(), "terminal");
  // The master reads end (EIO) once kvrun's monitor, which holds the other side, has exited.
  relay_.copy(std::move(master), stdout_.get(), true);
  if (stdin_) relay_.copy(stdin_.get(), std::move(master_for_input), false);
}

void ProcessTerminal::drain(std::chrono::milliseconds timeout) { relay_.wait_output(timeout); }

}  // namespace kvrun::containerd
