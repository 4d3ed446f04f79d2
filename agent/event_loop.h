// The agent's single thread: one epoll set, level-triggered, a handler per watched fd. Being
// single-threaded is what lets container children be created with a plain clone and keep using
// the C++ runtime until they exec.
#pragma once

#include <cstdint>
#include <functional>
#include <map>

#include "common/unique_fd.h"

namespace kvrun::agent {

class EventLoop {
 public:
  using Handler = std::function<void(std::uint32_t events)>;

  // Registration of one fd; unregisters on destruction, which must happen before the fd is
  // closed (a child may still hold a copy of the open file, and epoll would keep reporting it).
  class Watch {
   public:
    Watch() = default;
    Watch(Watch&& other) noexcept;
    Watch& operator=(Watch&& other) noexcept;
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    ~Watch() { reset(); }

    // 0 removes the fd from the epoll set until events are asked for again.
    void set_events(std::uint32_t events);
    void reset();

   private:
    friend class EventLoop;
    Watch(EventLoop* loop, std::uint64_t token) : loop_(loop), token_(token) {}
    EventLoop* loop_ = nullptr;
    std::uint64_t token_ = 0;
  };

  EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  Watch watch(int fd, std::uint32_t events, Handler handler);
  // Waits up to timeout_ms (-1: forever) and dispatches what is ready.
  void run_once(int timeout_ms);
  void run();
  void stop() { stopped_ = true; }

 private:
  struct Entry {
    int fd;
    std::uint32_t events;
    Handler handler;
  };
  void set_events(std::uint64_t token, std::uint32_t events);
  void unwatch(std::uint64_t token);

  UniqueFd epoll_;
  std::map<std::uint64_t, Entry> entries_;
  std::uint64_t next_token_ = 1;
  bool stopped_ = false;
};

}  // namespace kvrun::agent
