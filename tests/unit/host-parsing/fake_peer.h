// Fake peers for the host side's hostile tests: a guest agent or a VMM control socket that
// misbehaves on purpose. Every fake closes its connections when the test ends, and after
// kWatchdog at the latest, so that a client without a timeout fails its test (too slow) instead
// of hanging the test binary.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"

namespace kvrun::test {

inline constexpr std::chrono::milliseconds kWatchdog{3000};

// One connection as the fake sees it.
struct Peer {
  int fd;
  std::shared_future<void> stop;
  // Notes what the fake saw, for FakeServer::records() (a no-op for a FakePeer).
  std::function<void(std::string)> record = [](std::string) {};
  // Silence: keeps the connection open and unanswered until the test ends (or the watchdog).
  void hold() const { stop.wait_for(kWatchdog); }
};

using Serve = std::function<void(Peer&)>;

// serve() runs on one end of a socketpair; client is the other end.
class FakePeer {
 public:
  explicit FakePeer(Serve serve);
  ~FakePeer();
  FakePeer(const FakePeer&) = delete;
  FakePeer& operator=(const FakePeer&) = delete;

  UniqueFd client;

 private:
  std::promise<void> stop_;
  std::thread thread_;
};

// A Unix socket at `path` serving each accepted connection with serve() in a thread of its own.
class FakeServer {
 public:
  FakeServer(std::filesystem::path path, Serve serve);
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // What serve() noted with Peer::record(), in order.
  std::vector<std::string> records() const;

 private:
  std::filesystem::path path_;
  UniqueFd listener_;
  Serve serve_;
  std::promise<void> stop_;
  std::shared_future<void> stopped_;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::vector<std::thread> connections_;
  std::mutex mutex_;  // connections_
  mutable std::mutex records_mutex_;
  std::vector<std::string> records_;
};

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Reads one '\n'-terminated line (without it), or what came before EOF.
std::string read_line(int fd);

// Milliseconds since `start`.
long elapsed_ms(std::chrono::steady_clock::time_point start);

}  // namespace kvrun::test
