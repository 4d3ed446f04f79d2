// The VMM's device thread: one epoll loop that every device registers its file descriptors
// with (queue notification eventfds, tap devices, Unix sockets) so that guest I/O is served
// without going through the vCPU threads.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#include "common/unique_fd.h"

namespace kvrun::vmm {

class EventLoop {
 public:
  // `events` is the epoll event mask that fired (EPOLLIN, EPOLLOUT, EPOLLHUP, ...).
  using Callback = std::function<void(uint32_t events)>;
  // Called on the loop thread when a callback throws; the loop keeps running.
  using ErrorHandler = std::function<void(const std::string& message)>;

  class Registration;

  explicit EventLoop(ErrorHandler on_error = {});
  ~EventLoop();  // stops and joins the thread
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watches `fd` (which must stay open while registered) for `events` (level-triggered unless
  // EPOLLET is given) and calls `callback` on the loop thread. Thread-safe; works before
  // start() too. Throws kvrun::Error if epoll refuses the fd. Dropping the returned
  // Registration removes the watch.
  [[nodiscard]] Registration add(int fd, uint32_t events, Callback callback);

  // Starts the loop thread (named `thread_name`), which first runs `on_thread_start` (the
  // VMM installs the device thread's seccomp filter there); if that throws, the error goes to
  // the ErrorHandler and the loop never runs. Not thread-safe with stop().
  void start(const std::string& thread_name = "devices",
             std::function<void()> on_thread_start = {});
  // Wakes and joins the thread; callbacks do not run afterwards. Idempotent.
  void stop();

  // Runs the callbacks of whatever is ready, waiting up to `timeout_ms` (-1: forever) for
  // something to be. For tests that drive the loop without its thread. Returns the number of
  // callbacks run.
  int run_once(int timeout_ms);

 private:
  struct Entry {
    int fd;
    Callback callback;
  };
  void remove(uint64_t id);
  void run();

  ErrorHandler on_error_;
  UniqueFd epoll_;
  UniqueFd wake_;  // eventfd: stop() writes it
  std::mutex mutex_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<Entry>> entries_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Keeps a watch alive. Removal is thread-safe but does not wait: a callback that the loop
// thread is already running (or has just picked up) may still run once after remove returns
// on another thread. Guard shared state with a lock and check liveness under it; the virtio
// transport's DeviceContext::watch does that for devices.
class EventLoop::Registration {
 public:
  Registration() = default;
  Registration(Registration&& other) noexcept
      : loop_(std::exchange(other.loop_, nullptr)), id_(std::exchange(other.id_, 0)) {}
  Registration& operator=(Registration&& other) noexcept {
    if (this != &other) {
      reset();
      loop_ = std::exchange(other.loop_, nullptr);
      id_ = std::exchange(other.id_, 0);
    }
    return *this;
  }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;
  ~Registration() { reset(); }

  void reset() {
    if (loop_ != nullptr) loop_->remove(id_);
    loop_ = nullptr;
    id_ = 0;
  }
  explicit operator bool() const { return loop_ != nullptr; }

 private:
  friend class EventLoop;
  Registration(EventLoop* loop, uint64_t id) : loop_(loop), id_(id) {}
  EventLoop* loop_ = nullptr;
  uint64_t id_ = 0;
};

}  // namespace kvrun::vmm
