#include "vmm/devices/virtio/event_loop.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <exception>

#include "common/error.h"

namespace kvrun::vmm {

namespace {
constexpr uint64_t kWakeId = 0;  // registration ids start at 1
}

EventLoop::EventLoop(ErrorHandler on_error)
    : on_error_(std::move(on_error)),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!epoll_) throw_errno("epoll_create1");
  if (!wake_) throw_errno("eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeId;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) < 0) throw_errno("epoll_ctl");
}

EventLoop::~EventLoop() { stop(); }

EventLoop::Registration EventLoop::add(int fd, uint32_t events, Callback callback) {
  std::lock_guard lock(mutex_);
  const uint64_t id = next_id_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) {
    throw_errno("epoll_ctl add fd " + std::to_string(fd));
  }
  entries_.emplace(id, std::make_shared<Entry>(Entry{fd, std::move(callback)}));
  return Registration(this, id);
}

void EventLoop::remove(uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  // ENOENT/EBADF: the owner closed the fd first, which removed it from the set already.
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second->fd, nullptr);
  entries_.erase(it);
}

void EventLoop::start(const std::string& thread_name, std::function<void()> on_thread_start) {
  if (thread_.joinable()) return;
  stopping_.store(false);
  // The thread names itself: naming another thread goes through /proc, which a jailed VMM
  // does not have.
  thread_ =
      std::thread([this, name = thread_name.substr(0, 15), on_start = std::move(on_thread_start)] {
        pthread_setname_np(pthread_self(), name.c_str());
        if (on_start) {
          try {
            on_start();
          } catch (const std::exception& e) {
            if (on_error_) on_error_(e.what());
            return;
          }
        }
        run();
      });
}

void EventLoop::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  const uint64_t one = 1;
  if (::write(wake_.get(), &one, sizeof(one)) < 0) {
    spdlog::error("waking the device thread: {}", std::strerror(errno));
  }
  thread_.join();
}

int EventLoop::run_once(int timeout_ms) {
  std::array<epoll_event, 32> events;
  const int n =
      ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return 0;
    throw_errno("epoll_wait");
  }
  int ran = 0;
  for (int i = 0; i < n && !stopping_.load(); ++i) {
    const uint64_t id = events[i].data.u64;
    if (id == kWakeId) continue;
    std::shared_ptr<Entry> entry;
    {
      std::lock_guard lock(mutex_);
      auto it = entries_.find(id);
      if (it == entries_.end()) continue;  // removed after epoll_wait returned
      entry = it->second;
    }
    ++ran;
    try {
      entry->callback(events[i].events);
    } catch (const std::exception& e) {
      spdlog::error("device event handler: {}", e.what());
      if (on_error_) on_error_(e.what());
    }
  }
  return ran;
}

void EventLoop::run() {
  while (!stopping_.load()) {
    try {
      run_once(-1);
    } catch (const std::exception& e) {
      if (on_error_) on_error_(e.what());
      return;
    }
  }
}

}  // namespace kvrun::vmm
