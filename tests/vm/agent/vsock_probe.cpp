// vsock-probe: what a process in the guest gets when it tries to talk to CID:PORT over vsock,
// for the agent-peers VM test (tests/vm/agent/peers.sh).
//
//   vsock-probe CID PORT    prints one line and exits 0:
//     "CID:PORT connect failed: <reason>"   no connection at all
//     "CID:PORT closed unanswered"          connected, then closed without a byte of reply
//     "CID:PORT answered"                   a reply to a Ping arrived: the agent served it
//   exit 2: bad arguments.
#include <linux/vm_sockets.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: vsock-probe CID PORT\n");
    return 2;
  }
  const unsigned cid = static_cast<unsigned>(std::strtoul(argv[1], nullptr, 10));
  const unsigned port = static_cast<unsigned>(std::strtoul(argv[2], nullptr, 10));
  const std::string name = std::string(argv[1]) + ":" + argv[2];
  int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::printf("%s connect failed: socket: %s\n", name.c_str(), std::strerror(errno));
    return 0;
  }
  timeval connect_timeout{5, 0};
  ::setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &connect_timeout,
               sizeof connect_timeout);
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = cid;
  addr.svm_port = port;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::printf("%s connect failed: %s\n", name.c_str(), std::strerror(errno));
    return 0;
  }
  // A Ping in the agent's framing (docs/agent-protocol.md): 4-byte big-endian length, JSON.
  const std::string body = R"({"version":2,"id":1,"type":"Ping","body":{}})";
  std::string frame(4, '\0');
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>((body.size() >> (24 - 8 * i)) & 0xff);
  frame += body;
  // A peer that closes at once may make this fail (EPIPE): the read below still tells.
  (void)::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL);
  pollfd pfd{fd, POLLIN, 0};
  char byte;
  if (::poll(&pfd, 1, 5000) == 1 && ::recv(fd, &byte, 1, 0) == 1) {
    std::printf("%s answered\n", name.c_str());
  } else {
    std::printf("%s closed unanswered\n", name.c_str());
  }
  ::close(fd);
  return 0;
}
