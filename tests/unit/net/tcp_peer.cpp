#include "tests/unit/net/tcp_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "common/error.h"
#include "common/netns.h"

namespace kvrun::test {
namespace {

using Clock = std::chrono::steady_clock;

sockaddr_in ipv4(const std::string& address, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1)
    throw Error("not an IPv4 address: " + address);
  return addr;
}

// Waits until `fd` has `events` or the deadline passes (then throws, naming `what`).
void wait_for(int fd, short events, Clock::time_point deadline, const char* what) {
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) throw Error(std::string("timed out waiting to ") + what);
    pollfd pfd{fd, events, 0};
    const int n = ::poll(&pfd, 1, static_cast<int>(left));
    if (n > 0) return;
    if (n < 0 && errno != EINTR) throw_errno("poll");
  }
}

UniqueFd accept_one(int listener, Clock::time_point deadline) {
  wait_for(listener, POLLIN, deadline, "accept a connection");
  UniqueFd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  if (!conn) throw_errno("accept");
  return conn;
}

void send_repeated(int fd, const std::string& data, uint64_t bytes, Clock::time_point deadline) {
  uint64_t sent = 0;
  while (sent < bytes) {
    const size_t offset = sent % data.size();
    const size_t chunk = std::min<uint64_t>(data.size() - offset, bytes - sent);
    const ssize_t n = ::send(fd, data.data() + offset, chunk, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN) {
        wait_for(fd, POLLOUT, deadline, "send");
        continue;
      }
      throw_errno("send");
    }
    sent += static_cast<uint64_t>(n);
  }
}

}  // namespace

UniqueFd listen_tcp(const TestNetns& ns, const std::string& address, uint16_t port) {
  UniqueFd fd;
  run_in_netns(ns.path(), [&] {
    fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) throw_errno("socket");
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    const sockaddr_in addr = ipv4(address, port);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0)
      throw_errno("bind " + address + ":" + std::to_string(port));
    if (::listen(fd.get(), 4) != 0) throw_errno("listen");
  });
  return fd;
}

Transfer receive_bytes(int listener, uint64_t bytes, std::chrono::milliseconds timeout,
                       bool keep_data) {
  const auto deadline = Clock::now() + timeout;
  UniqueFd conn = accept_one(listener, deadline);
  const auto start = Clock::now();
  Transfer result;
  std::string buffer(256 * 1024, '\0');
  while (result.bytes < bytes) {
    const ssize_t n = ::recv(conn.get(), buffer.data(), buffer.size(), 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN) {
        wait_for(conn.get(), POLLIN, deadline, "receive");
        continue;
      }
      throw_errno("recv");
    }
    if (keep_data) result.data.append(buffer.data(), static_cast<size_t>(n));
    result.bytes += static_cast<uint64_t>(n);
  }
  result.elapsed = Clock::now() - start;
  return result;
}

Transfer send_bytes(int listener, const std::string& data, uint64_t bytes,
                    std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  UniqueFd conn = accept_one(listener, deadline);
  const auto start = Clock::now();
  send_repeated(conn.get(), data, bytes, deadline);
  // Wait for the peer to close its end: then every byte has been read, not just buffered.
  ::shutdown(conn.get(), SHUT_WR);
  char sink[4096];
  while (true) {
    const ssize_t n = ::recv(conn.get(), sink, sizeof(sink), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN)) break;
    if (n < 0) wait_for(conn.get(), POLLIN, deadline, "the peer to close");
  }
  Transfer result;
  result.bytes = bytes;
  result.elapsed = Clock::now() - start;
  return result;
}

Transfer connect_and_send(const TestNetns& ns, const std::string& address, uint16_t port,
                          const std::string& data, uint64_t bytes,
                          std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  UniqueFd fd;
  run_in_netns(ns.path(), [&] {
    fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno("socket");
  });
  const sockaddr_in addr = ipv4(address, port);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0)
    throw_errno("connect " + address + ":" + std::to_string(port));
  const auto start = Clock::now();
  send_repeated(fd.get(), data, bytes, deadline);
  ::shutdown(fd.get(), SHUT_WR);
  char sink[4096];
  while (::recv(fd.get(), sink, sizeof(sink), 0) > 0) {
  }
  Transfer result;
  result.bytes = bytes;
  result.elapsed = Clock::now() - start;
  return result;
}

std::string random_bytes(size_t bytes) {
  std::string data(bytes, '\0');
  size_t done = 0;
  while (done < bytes) {
    const ssize_t n = ::getrandom(data.data() + done, bytes - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("getrandom");
    }
    done += static_cast<size_t>(n);
  }
  return data;
}

std::string sha256_hex(const std::string& data) {
  char path[] = "/tmp/kvrun-sha.XXXXXX";
  UniqueFd file(::mkstemp(path));
  if (!file) throw_errno("mkstemp");
  const std::string name = path;
  struct Remove {
    std::string name;
    ~Remove() { ::unlink(name.c_str()); }
  } remove{name};
  for (size_t done = 0; done < data.size();) {
    const ssize_t n = ::write(file.get(), data.data() + done, data.size() - done);
    if (n < 0) throw_errno("write " + name);
    done += static_cast<size_t>(n);
  }
  FILE* pipe = ::popen(("sha256sum " + name).c_str(), "r");
  if (pipe == nullptr) throw_errno("popen sha256sum");
  char hex[65] = {};
  const size_t got = std::fread(hex, 1, 64, pipe);
  const int status = ::pclose(pipe);
  if (got != 64 || status != 0) throw Error("sha256sum " + name + " failed");
  return std::string(hex, 64);
}

}  // namespace kvrun::test
