#include "agent/oom_watcher.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/container/cgroup_stats.h"
#include "common/error.h"

namespace kvrun::agent {

OomWatcher::OomWatcher(EventLoop& loop, OomHandler on_oom)
    : inotify_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)), on_oom_(std::move(on_oom)) {
  if (!inotify_) throw_errno("inotify_init1");
  loop_watch_ = loop.watch(inotify_.get(), EPOLLIN, [this](std::uint32_t) { on_readable(); });
}

void OomWatcher::add(const std::string& container_id, const std::filesystem::path& cgroup) {
  std::filesystem::path file = cgroup / "memory.events";
  int wd = ::inotify_add_watch(inotify_.get(), file.c_str(), IN_MODIFY);
  if (wd < 0) {
    spdlog::debug("container {}: no OOM events ({}: {})", container_id, file.string(),
                  std::strerror(errno));
    return;
  }
  Watched watched{container_id, file, read_keyed_value(file, "oom_kill").value_or(0)};
  watches_[wd] = std::move(watched);
}

void OomWatcher::remove(const std::string& container_id) {
  for (auto it = watches_.begin(); it != watches_.end(); ++it) {
    if (it->second.container_id != container_id) continue;
    check(it->second);
    ::inotify_rm_watch(inotify_.get(), it->first);
    watches_.erase(it);
    return;
  }
}

void OomWatcher::on_readable() {
  alignas(inotify_event) char buffer[4096];
  for (;;) {
    ssize_t n = ::read(inotify_.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    for (ssize_t offset = 0; offset + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + offset);
      offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      auto it = watches_.find(event->wd);
      if (it != watches_.end()) check(it->second);
    }
  }
}

void OomWatcher::check(Watched& watched) {
  std::uint64_t kills = read_keyed_value(watched.events_file, "oom_kill").value_or(0);
  while (watched.oom_kills < kills) {
    ++watched.oom_kills;
    spdlog::warn("container {}: a process was killed for lack of memory", watched.container_id);
    on_oom_(watched.container_id);
  }
}

}  // namespace kvrun::agent
