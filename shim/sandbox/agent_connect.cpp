#include "shim/sandbox/agent_connect.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "common/error.h"

namespace kvrun::sandbox {
namespace {

UniqueFd connect_unix(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) throw Error(path + ": socket path too long");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    throw_errno("connect " + path);
  return fd;
}

// The VMM answers "OK <port>\n"; anything else (or EOF: nobody listens in the guest yet) fails.
void vsock_handshake(int fd, const std::string& path) {
  std::string request = "CONNECT " + std::to_string(kAgentVsockPort) + "\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size()))
    throw_errno("send CONNECT to " + path);
  std::string reply;
  // Byte by byte: what follows the newline already belongs to the agent's stream.
  while (reply.size() < 32) {
    char c = 0;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("vsock handshake on " + path);
    if (n == 0)
      throw Error("vsock handshake on " + path + ": connection closed (agent not listening yet?)");
    if (c == '\n') break;
    reply += c;
  }
  if (reply.rfind("OK ", 0) != 0)
    throw Error("vsock handshake on " + path + ": unexpected reply \"" + reply.substr(0, 32) +
                "\"");
}

}  // namespace

UniqueFd connect_agent(const std::string& address) {
  if (address.rfind("unix:", 0) == 0) return connect_unix(address.substr(5));
  if (address.rfind("vsock:", 0) == 0) {
    std::string path = address.substr(6);
    UniqueFd fd = connect_unix(path);
    vsock_handshake(fd.get(), path);
    return fd;
  }
  throw Error("agent address \"" + address + "\": expected unix:<path> or vsock:<path>");
}

UniqueFd connect_agent_waiting(const std::string& address, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    try {
      return connect_agent(address);
    } catch (const Error&) {
      if (std::chrono::steady_clock::now() >= deadline) throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void set_io_timeout(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace kvrun::sandbox
