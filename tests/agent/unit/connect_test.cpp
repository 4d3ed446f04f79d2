// connect_agent(): unix sockets, and kvrun-vmm's vsock unix socket with its CONNECT handshake,
// against a real listening socket playing the VMM.
#include "protocol/connect.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <future>
#include <string>

#include "agent_harness.h"
#include "common/error.h"

namespace kvrun::protocol {
namespace {

UniqueFd listen_unix(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) throw_errno("bind");
  if (::listen(fd.get(), 4) != 0) throw_errno("listen");
  return fd;
}

// Accepts one connection, reads the request line, answers `reply` and returns the request.
std::future<std::string> fake_vmm(int listener, std::string reply) {
  return std::async(std::launch::async, [listener, reply] {
    UniqueFd peer(::accept(listener, nullptr, nullptr));
    std::string request;
    char c;
    while (::read(peer.get(), &c, 1) == 1 && c != '\n') request += c;
    if (!reply.empty()) (void)!::write(peer.get(), reply.data(), reply.size());
    return request;
  });
}

TEST(ConnectAgent, VsockHandshakeLeavesTheAgentsBytesUnread) {
  agent::test::TempDir dir;
  std::string path = (dir.path() / "vsock.sock").string();
  UniqueFd listener = listen_unix(path);
  auto request = fake_vmm(listener.get(), "OK 1073741824\nfirst agent bytes");
  UniqueFd fd = connect_agent("vsock-uds:" + path);
  EXPECT_EQ(request.get(), "CONNECT 1024");
  EXPECT_EQ(agent::test::read_all(fd.get()), "first agent bytes");
}

TEST(ConnectAgent, RefusedHandshakeIsOneLine) {
  agent::test::TempDir dir;
  std::string path = (dir.path() / "vsock.sock").string();
  UniqueFd listener = listen_unix(path);
  auto request = fake_vmm(listener.get(), "");
  try {
    connect_agent("vsock-uds:" + path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "connect vsock-uds:" + path +
                                         ": closed during the handshake (no agent listening "
                                         "on the port?)");
  }
  request.get();
}

TEST(ConnectAgent, BadAddressesAreNamed) {
  EXPECT_THROW(connect_agent("tcp:1.2.3.4"), Error);
  try {
    connect_agent("unix:/nonexistent/agent.sock");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "connect unix:/nonexistent/agent.sock: /nonexistent/agent.sock: No such file or "
              "directory");
  }
}

}  // namespace
}  // namespace kvrun::protocol
