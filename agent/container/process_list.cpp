#include "agent/container/process_list.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <memory>

#include "common/error.h"
#include "common/unique_fd.h"

namespace kvrun::agent {
namespace {

bool pid_namespace_of(pid_t pid, struct stat* out) {
  std::string path = "/proc/" + std::to_string(pid) + "/ns/pid";
  return ::stat(path.c_str(), out) == 0;
}

}  // namespace

std::vector<pid_t> pid_namespace_processes(pid_t member) {
  std::vector<pid_t> pids;
  struct stat wanted;
  if (!pid_namespace_of(member, &wanted)) return pids;
  std::unique_ptr<DIR, int (*)(DIR*)> proc(::opendir("/proc"), ::closedir);
  if (!proc) throw_errno("open /proc");
  while (const dirent* entry = ::readdir(proc.get())) {
    std::string_view name(entry->d_name);
    pid_t pid = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc() || end != name.data() + name.size() || pid <= 0) continue;
    struct stat ns;
    // A process may exit while we look: then it simply is not listed.
    if (!pid_namespace_of(pid, &ns)) continue;
    if (ns.st_dev == wanted.st_dev && ns.st_ino == wanted.st_ino) pids.push_back(pid);
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

std::vector<std::string> process_args(pid_t pid) {
  std::vector<std::string> args;
  std::string path = "/proc/" + std::to_string(pid) + "/cmdline";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return args;
  // The container owns its argv: bound what is read, whatever it claims to be.
  std::string text(kMaxCmdlineBytes, '\0');
  std::size_t size = 0;
  while (size < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + size, text.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size += static_cast<std::size_t>(n);
  }
  text.resize(size);
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\0', start);
    if (end == std::string::npos) end = text.size();
    args.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return args;
}

}  // namespace kvrun::agent
