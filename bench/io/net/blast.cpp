// blast: one TCP stream of a given size, as fast as the socket takes it. Runs in the guest
// (static, no kvrun libraries) and in the veth namespace, so both sides of the comparison use
// the same program.
//
//   blast send|recv IPV4 PORT BYTES [--listen]
//
// Connects to IPV4:PORT (with --listen: listens there and takes one connection), then sends
// BYTES zero bytes (send) or reads until BYTES arrived or the peer closed (recv). Prints "blast:
// <send|recv> <bytes> bytes <MB/s> MB/s" and exits 0, or prints one line "blast: ..." and exits 1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int fail(const char* what) {
  std::fprintf(stderr, "blast: %s: %s\n", what, std::strerror(errno));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const bool listen_mode = argc == 6 && std::string(argv[5]) == "--listen";
  if ((argc != 5 && !listen_mode) ||
      (std::string(argv[1]) != "send" && std::string(argv[1]) != "recv")) {
    std::fprintf(stderr, "usage: blast send|recv IPV4 PORT BYTES [--listen]\n");
    return 1;
  }
  const bool send_mode = std::string(argv[1]) == "send";
  const unsigned long long bytes = std::strtoull(argv[4], nullptr, 10);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[3])));
  if (::inet_pton(AF_INET, argv[2], &addr.sin_addr) != 1) {
    std::fprintf(stderr, "blast: not an IPv4 address: %s\n", argv[2]);
    return 1;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail("socket");
  if (listen_mode) {
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0)
      return fail("bind");
    if (::listen(fd, 1) != 0) return fail("listen");
    const int listener = fd;
    fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return fail("accept");
    ::close(listener);
  } else if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return fail("connect");
  }

  std::vector<char> buffer(256 * 1024, 0);
  const auto start = std::chrono::steady_clock::now();
  unsigned long long done = 0;
  while (done < bytes) {
    const size_t chunk =
        send_mode ? std::min<unsigned long long>(buffer.size(), bytes - done) : buffer.size();
    const ssize_t n = send_mode ? ::send(fd, buffer.data(), chunk, MSG_NOSIGNAL)
                                : ::recv(fd, buffer.data(), chunk, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(send_mode ? "send" : "recv");
    }
    if (n == 0) break;
    done += static_cast<unsigned long long>(n);
  }
  if (send_mode) {
    // Wait for the receiver to close: then it has read everything, not just our buffers.
    ::shutdown(fd, SHUT_WR);
    while (::recv(fd, buffer.data(), buffer.size(), 0) > 0) {
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::close(fd);
  std::printf("blast: %s %llu bytes %.1f MB/s\n", argv[1], done, done / 1e6 / seconds);
  return done == bytes ? 0 : 1;
}
