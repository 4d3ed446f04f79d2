#include "shim/containerd/console_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"
#include "common/fd_passing.h"

namespace kvrun::containerd {
namespace fs = std::filesystem;

ConsoleSocket::ConsoleSocket() {
  std::string pattern = (fs::temp_directory_path() / "kvrun-console-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp " + pattern);
  directory_ = pattern;
  path_ = directory_ / "console.sock";
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path_.string().size() >= sizeof address.sun_path) {
    fs::remove(directory_);
    throw Error("console socket " + path_.string() + ": path too long (set TMPDIR shorter)");
  }
  std::memcpy(address.sun_path, path_.c_str(), path_.string().size() + 1);
  listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener_ || ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_.get(), 1) != 0) {
    int saved = errno;
    std::error_code ec;
    fs::remove_all(directory_, ec);
    errno = saved;
    throw_errno("console socket " + path_.string());
  }
}

ConsoleSocket::~ConsoleSocket() {
  listener_.reset();
  std::error_code ec;
  fs::remove_all(directory_, ec);
}

UniqueFd ConsoleSocket::receive(std::chrono::milliseconds timeout) {
  const std::string what = "console from kvrun on " + path_.string();
  pollfd ready{listener_.get(), POLLIN, 0};
  int n;
  do {
    n = ::poll(&ready, 1, static_cast<int>(timeout.count()));
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno(what);
  if (n == 0) throw Error(what + ": nothing came within " + std::to_string(timeout.count()) + " ms");
  UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!connection) throw_errno(what);
  timeval limit{static_cast<time_t>(timeout.count() / 1000),
                static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(connection.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  // The payload is the pty's name; only the descriptor matters here.
  ReceivedFds received = receive_with_fds(connection.get(), 256, what);
  if (received.fds.size() != 1) {
    throw Error(what + ": " + std::to_string(received.fds.size()) + " descriptors came, not one");
  }
  if (::isatty(received.fds[0].get()) == 0) throw Error(what + ": not a terminal");
  return std::move(received.fds[0]);
}

}  // namespace kvrun::containerd
