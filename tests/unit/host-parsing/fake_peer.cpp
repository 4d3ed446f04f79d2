#include "fake_peer.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "common/error.h"

namespace kvrun::test {

FakePeer::FakePeer(Serve serve) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) throw_errno("socketpair");
  client = UniqueFd(fds[0]);
  thread_ = std::thread([peer_fd = UniqueFd(fds[1]), stop = stop_.get_future().share(),
                         serve = std::move(serve)]() mutable {
    Peer peer{peer_fd.get(), stop};
    try {
      serve(peer);
    } catch (const std::exception&) {
      // The client gave up first: its end is closed.
    }
  });
}

FakePeer::~FakePeer() {
  stop_.set_value();
  thread_.join();
}

FakeServer::FakeServer(std::filesystem::path path, Serve serve)
    : path_(std::move(path)), serve_(std::move(serve)), stopped_(stop_.get_future().share()) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
  listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    throw_errno("bind " + path_.string());
  if (::listen(listener_.get(), 16) != 0) throw_errno("listen");
  acceptor_ = std::thread([this] {
    while (!stopping_) {
      pollfd ready{listener_.get(), POLLIN, 0};
      if (::poll(&ready, 1, 20) <= 0) continue;
      UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!connection) continue;
      std::lock_guard lock(mutex_);
      connections_.emplace_back([this, fd = std::move(connection)]() mutable {
        Peer peer{fd.get(), stopped_, [this](std::string what) {
                    std::lock_guard lock(records_mutex_);
                    records_.push_back(std::move(what));
                  }};
        try {
          serve_(peer);
        } catch (const std::exception&) {
        }
      });
    }
  });
}

FakeServer::~FakeServer() {
  stopping_ = true;
  stop_.set_value();
  acceptor_.join();
  for (auto& connection : connections_) connection.join();
  std::filesystem::remove(path_);
}

std::vector<std::string> FakeServer::records() const {
  std::lock_guard lock(records_mutex_);
  return records_;
}

TempDir::TempDir() {
  char pattern[] = "/tmp/kvrun-host-parsing-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw_errno("mkdtemp");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string read_line(int fd) {
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

long elapsed_ms(std::chrono::steady_clock::time_point start) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - start)
                               .count());
}

}  // namespace kvrun::test
