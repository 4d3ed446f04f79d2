#include "shim/cli/globals.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <map>

#include "common/error.h"
#include "shim/rootfs/image_cache.h"

namespace kvrun::cli {

std::string Globals::sandbox_kind() const {
  if (!sandbox.empty()) return sandbox;
  const char* env = std::getenv("KVRUN_SANDBOX");
  return env && *env ? env : "vm";
}

std::filesystem::path Globals::rootfs_cache() const {
  if (!cache_dir.empty()) return cache_dir;
  const char* env = std::getenv("KVRUN_ROOTFS_CACHE");
  return env && *env ? env : rootfs::kDefaultCacheDir;
}

void write_pid_file(const std::filesystem::path& path, pid_t pid) {
  auto temp = path.parent_path() / ("." + path.filename().string() + ".tmp");
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) throw_errno("pid file " + temp.string());
  std::string text = std::to_string(pid);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw_errno("write " + temp.string());
  fd.reset();
  if (::rename(temp.c_str(), path.c_str()) != 0) throw_errno("rename " + path.string());
}

int parse_signal(const std::string& name) {
  int number = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), number);
  if (ec == std::errc() && end == name.data() + name.size()) {
    if (number >= 0 && number <= 64) return number;
    throw Error("invalid signal " + name);
  }
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.rfind("SIG", 0) == 0) upper.erase(0, 3);
  static const std::map<std::string, int> kSignals = {
      {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
      {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
      {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
      {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
      {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
      {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
      {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
      {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"PWR", SIGPWR},       {"SYS", SIGSYS},
  };
  auto it = kSignals.find(upper);
  if (it == kSignals.end()) throw Error("unknown signal \"" + name + "\"");
  return it->second;
}

}  // namespace kvrun::cli
