#include "protocol/connect.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/deadline_io.h"
#include "common/error.h"
#include "common/printable.h"

namespace kvrun::protocol {
namespace {

timeval to_timeval(std::chrono::milliseconds timeout) {
  return {static_cast<time_t>(timeout.count() / 1000),
          static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
}

UniqueFd connect_unix(const std::string& path, std::chrono::milliseconds timeout) {
  sockaddr_un sa{};
  if (path.empty() || path.size() >= sizeof sa.sun_path) throw Error("bad socket path");
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  // A Unix socket's connect() waits for room in a full listen backlog as long as the send
  // timeout allows; the receive timeout is the one replies are awaited with (client.h).
  timeval tv = to_timeval(timeout);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    if (errno == EAGAIN || errno == EINPROGRESS)
      throw TimeoutError(path + ": not accepted within " + std::to_string(timeout.count()) + " ms");
    throw_errno(path);
  }
  timeval none{};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
  return fd;
}

// The handshake's reply line, read byte by byte so no byte of the agent's stream is consumed.
std::string read_line(int fd, const Deadline& deadline) {
  std::string line;
  for (;;) {
    char c;
    if (read_full(fd, &c, 1, deadline, "read the handshake reply") == 0)
      throw Error("closed during the handshake (no agent listening on the port?)");
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
      Deadline deadline = Deadline::after(timeout);
      UniqueFd fd = connect_unix(text.substr(10), timeout);
      std::string request = "CONNECT " + std::to_string(kAgentVsockPort) + "\n";
      write_all(fd.get(), request, deadline, "send CONNECT");
      std::string reply = read_line(fd.get(), deadline);
      if (!reply.starts_with("OK ")) throw Error("handshake refused: \"" + printable(reply) + "\"");
      return fd;
    }
    throw Error("unknown address form (expected unix:/path or vsock-uds:/path)");
  } catch (const TimeoutError& e) {
    throw TimeoutError("connect " + text + ": " + e.what());
  } catch (const Error& e) {
    throw Error("connect " + text + ": " + e.what());
  }
}

}  // namespace kvrun::protocol
