// The shim's end of a terminal process: receiving kvrun's pty master on the console socket
// (and refusing what is not one), and joining it to the client's FIFOs. Real ptys and pipes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "common/error.h"
#include "common/fd_passing.h"
#include "shim/containerd/console_socket.h"
#include "shim/containerd/process_terminal.h"
#include "shim/sandbox/console.h"

namespace kvrun::containerd {
namespace {

using namespace std::chrono_literals;

UniqueFd connect_to(const std::filesystem::path& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, path.c_str());
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_EQ(::connect(sock.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  return sock;
}

// Reads what arrives on fd within the timeout, at least `want` bytes if they come.
std::string read_some(int fd, std::size_t want, std::chrono::milliseconds timeout = 5s) {
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    pollfd ready{fd, POLLIN, 0};
    if (::poll(&ready, 1, 100) <= 0) continue;
    char buffer[256];
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    got.append(buffer, static_cast<std::size_t>(n));
  }
  return got;
}

TEST(ConsoleSocket, ReceivesThePtyMasterKvrunSends) {
  std::filesystem::path directory;
  {
    ConsoleSocket console;
    directory = console.path().parent_path();
    EXPECT_TRUE(std::filesystem::exists(console.path()));
    sandbox::HostPty pty = sandbox::open_host_pty();
    sandbox::send_console(console.path(), pty.master.get(), pty.name);
    UniqueFd received = console.receive(5s);
    ASSERT_TRUE(received);
    EXPECT_EQ(::isatty(received.get()), 1);
    // It is the same terminal: what goes in at the received end comes out at the slave.
    ASSERT_EQ(::write(received.get(), "x", 1), 1);
    EXPECT_EQ(read_some(pty.slave.get(), 1), "x");
  }
  EXPECT_FALSE(std::filesystem::exists(directory)) << "console socket directory left";
}

TEST(ConsoleSocket, RefusesWhatIsNotATerminal) {
  ConsoleSocket console;
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  UniqueFd sock = connect_to(console.path());
  send_with_fd(sock.get(), "/dev/pts/99", read_end.get(), "test");
  try {
    console.receive(5s);
    FAIL() << "a pipe was taken for a terminal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a terminal"), std::string::npos) << e.what();
  }
}

TEST(ConsoleSocket, RefusesAConnectionWithoutADescriptor) {
  ConsoleSocket console;
  UniqueFd sock = connect_to(console.path());
  ASSERT_EQ(::write(sock.get(), "name", 4), 4);
  try {
    console.receive(5s);
    FAIL() << "no descriptor came, yet receive returned";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("0 descriptors came, not one"), std::string::npos)
        << e.what();
  }
}

TEST(ConsoleSocket, GivesUpWhenNothingComes) {
  ConsoleSocket console;
  EXPECT_THROW(console.receive(100ms), Error);
  // A peer that connects and then sends nothing is bounded too.
  UniqueFd sock = connect_to(console.path());
  EXPECT_THROW(console.receive(200ms), Error);
}

TEST(ProcessTerminal, JoinsTheTerminalToTheFifosAndEndsTheOutputWithIt) {
  sandbox::HostPty pty = sandbox::open_host_pty();
  int in[2], out[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  UniqueFd in_read(in[0]), in_write(in[1]), out_read(out[0]), out_write(out[1]);
  {
    ProcessTerminal terminal(std::move(pty.master), in_read.get(), out_write.get());
    // Its own copies: the caller's may go.
    in_read.reset();
    out_write.reset();
    ASSERT_EQ(::write(in_write.get(), "typed", 5), 5);
    EXPECT_EQ(read_some(pty.slave.get(), 5), "typed");
    ASSERT_EQ(::write(pty.slave.get(), "shown", 5), 5);
    EXPECT_EQ(read_some(out_read.get(), 5), "shown");
    // The process's side goes (its monitor exited) after a last line.
    ASSERT_EQ(::write(pty.slave.get(), "last", 4), 4);
    pty.slave.reset();
    terminal.drain(5s);
  }
  // All of it, then end of file for the client.
  EXPECT_EQ(read_some(out_read.get(), 100, 2s), "last");
  char byte;
  EXPECT_EQ(::read(out_read.get(), &byte, 1), 0);
}

}  // namespace
}  // namespace kvrun::containerd
