#include "shim/sandbox/agent_connect.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "common/deadline_io.h"
#include "common/error.h"
#include "common/printable.h"

namespace kvrun::sandbox {
namespace {

timeval to_timeval(std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  return tv;
}

UniqueFd connect_unix(const std::string& path, std::chrono::milliseconds timeout) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) throw Error(path + ": socket path too long");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  // A Unix socket's connect() waits for room in a full listen backlog up to the send timeout.
  timeval tv = to_timeval(timeout);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (errno == EAGAIN)
      throw TimeoutError("connect " + path + ": not accepted within " +
                         std::to_string(timeout.count()) + " ms");
    throw_errno("connect " + path);
  }
  set_io_timeout(fd.get(), std::chrono::milliseconds(0));
  return fd;
}

// The VMM answers "OK <port>\n"; anything else (or EOF: nobody listens in the guest yet) fails.
void vsock_handshake(int fd, const std::string& path, const Deadline& deadline) {
  const std::string context = "vsock handshake on " + path;
  std::string request = "CONNECT " + std::to_string(kAgentVsockPort) + "\n";
  write_all(fd, request, deadline, context);
  std::string reply;
  // Byte by byte: what follows the newline already belongs to the agent's stream.
  while (reply.size() < 32) {
    char c = 0;
    if (read_full(fd, &c, 1, deadline, context) == 0)
      throw Error(context + ": connection closed (agent not listening yet?)");
    if (c == '\n') break;
    reply += c;
  }
  if (reply.rfind("OK ", 0) != 0)
    throw Error(context + ": unexpected reply \"" + printable(reply, 32) + "\"");
}

}  // namespace

UniqueFd connect_agent(const std::string& address, std::chrono::milliseconds timeout) {
  Deadline deadline = Deadline::after(timeout);
  if (address.rfind("unix:", 0) == 0) return connect_unix(address.substr(5), timeout);
  if (address.rfind("vsock:", 0) == 0) {
    std::string path = address.substr(6);
    UniqueFd fd = connect_unix(path, timeout);
    vsock_handshake(fd.get(), path, deadline);
    return fd;
  }
  throw Error("agent address \"" + printable(address) + "\": expected unix:<path> or vsock:<path>");
}

UniqueFd connect_agent_waiting(const std::string& address, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    try {
      return connect_agent(address,
                           std::clamp(left, std::chrono::milliseconds(1), kConnectTimeout));
    } catch (const Error&) {
      if (std::chrono::steady_clock::now() >= deadline) throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void set_io_timeout(int fd, std::chrono::milliseconds timeout) {
  timeval tv = to_timeval(timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace kvrun::sandbox
