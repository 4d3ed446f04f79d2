#include "agent/event_loop.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>

#include <cerrno>
#include <exception>

#include "common/error.h"

namespace kvrun::agent {

EventLoop::Watch::Watch(Watch&& other) noexcept
    : loop_(std::exchange(other.loop_, nullptr)), token_(other.token_) {}

EventLoop::Watch& EventLoop::Watch::operator=(Watch&& other) noexcept {
  if (this != &other) {
    reset();
    loop_ = std::exchange(other.loop_, nullptr);
    token_ = other.token_;
  }
  return *this;
}

void EventLoop::Watch::set_events(std::uint32_t events) {
  if (loop_ != nullptr) loop_->set_events(token_, events);
}

void EventLoop::Watch::reset() {
  if (loop_ != nullptr) std::exchange(loop_, nullptr)->unwatch(token_);
}

EventLoop::EventLoop() : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (!epoll_) throw_errno("epoll_create1");
}

EventLoop::Watch EventLoop::watch(int fd, std::uint32_t events, Handler handler) {
  std::uint64_t token = next_token_++;
  entries_.emplace(token, Entry{fd, 0, std::move(handler)});
  Watch watch(this, token);
  set_events(token, events);
  return watch;
}

void EventLoop::set_events(std::uint64_t token, std::uint32_t events) {
  auto it = entries_.find(token);
  if (it == entries_.end() || it->second.events == events) return;
  Entry& entry = it->second;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  int op = entry.events == 0 ? EPOLL_CTL_ADD : (events == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD);
  if (::epoll_ctl(epoll_.get(), op, entry.fd, &ev) != 0) {
    throw_errno("epoll_ctl fd " + std::to_string(entry.fd));
  }
  entry.events = events;
}

void EventLoop::unwatch(std::uint64_t token) {
  auto it = entries_.find(token);
  if (it == entries_.end()) return;
  if (it->second.events != 0) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.fd, nullptr);
  entries_.erase(it);
}

void EventLoop::run_once(int timeout_ms) {
  epoll_event events[64];
  int n = ::epoll_wait(epoll_.get(), events, 64, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return;
    throw_errno("epoll_wait");
  }
  for (int i = 0; i < n; ++i) {
    // A handler may have removed this or any other entry meanwhile.
    auto it = entries_.find(events[i].data.u64);
    if (it == entries_.end() || it->second.events == 0) continue;
    Handler handler = it->second.handler;  // the entry may die while the handler runs
    int fd = it->second.fd;
    try {
      handler(events[i].events);
    } catch (const std::exception& e) {
      // As PID 1 the agent must outlive any one failed handler; the fd's owner has already
      // reported what it could to its peer.
      spdlog::error("event handler for fd {}: {}", fd, e.what());
    }
  }
}

void EventLoop::run() {
  while (!stopped_) run_once(-1);
}

}  // namespace kvrun::agent
