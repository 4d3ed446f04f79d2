#include "protocol/connect.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/error.h"

namespace kvrun::protocol {
namespace {

UniqueFd connect_unix(const std::string& path, std::chrono::milliseconds timeout) {
  sockaddr_un sa{};
  if (path.empty() || path.size() >= sizeof sa.sun_path) throw Error("bad socket path");
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) throw_errno(path);
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// The handshake's reply line, read byte by byte so no byte of the agent's stream is consumed.
std::string read_line(int fd) {
  std::string line;
  for (;;) {
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read the handshake reply");
    if (n == 0) throw Error("closed during the handshake (no agent listening on the port?)");
    if (c == '\n') return line;
    if (line.size() >= 64) throw Error("handshake reply too long");
    line += c;
  }
}

}  // namespace

UniqueFd connect_agent(std::string_view address, std::chrono::milliseconds timeout) {
  const std::string text(address);
  try {
    if (address.starts_with("unix:")) return connect_unix(text.substr(5), timeout);
    if (address.starts_with("vsock-uds:")) {
      UniqueFd fd = connect_unix(text.substr(10), timeout);
      std::string request = "CONNECT " + std::to_string(kAgentVsockPort) + "\n";
      if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(request.size())) {
        throw_errno("send CONNECT");
      }
      std::string reply = read_line(fd.get());
      if (!reply.starts_with("OK ")) throw Error("handshake refused: \"" + reply + "\"");
      return fd;
    }
    throw Error("unknown address form (expected unix:/path or vsock-uds:/path)");
  } catch (const Error& e) {
    throw Error("connect " + text + ": " + e.what());
  }
}

}  // namespace kvrun::protocol
