#include "shim/containerd/kvrun_command.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/error_code.h"
#include "common/unique_fd.h"

namespace kvrun::containerd {
namespace fs = std::filesystem;

fs::path locate_kvrun() {
  if (const char* env = std::getenv("KVRUN_BIN"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && fs::exists(self.parent_path() / "kvrun")) return self.parent_path() / "kvrun";
  return "kvrun";  // execvp looks it up in PATH
}

void KvrunCommand::run(const std::vector<std::string>& args) const { run(args, {-1, -1, -1}); }

void KvrunCommand::run(const std::vector<std::string>& args,
                       const std::array<int, 3>& stdio) const {
  fs::path log = bundle_ / "log.json";
  std::error_code ec;
  std::uintmax_t log_offset = fs::exists(log, ec) ? fs::file_size(log, ec) : 0;

  std::vector<std::string> argv = {kvrun_.string(), "--root",       root_.string(), "--log",
                                   log.string(),    "--log-format", "json"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> c_argv;
  for (auto& arg : argv) c_argv.push_back(arg.data());
  c_argv.push_back(nullptr);

  UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null_fd) throw_errno("open /dev/null");
  int child_fds[3];
  for (int i = 0; i < 3; ++i) child_fds[i] = stdio[i] >= 0 ? stdio[i] : null_fd.get();

  if (spdlog::should_log(spdlog::level::debug)) {
    std::string line;
    for (const auto& arg : argv) line += (line.empty() ? "" : " ") + arg;
    spdlog::debug("running {}", line);
  }
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    // Only async-signal-safe calls from here: the parent has threads.
    sigset_t none;
    sigemptyset(&none);
    ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
    // dup to fds above 2 first, so that stdio[i] == j for j < i is not overwritten.
    int high[3];
    for (int i = 0; i < 3; ++i) high[i] = ::fcntl(child_fds[i], F_DUPFD, 10);
    for (int i = 0; i < 3; ++i) {
      if (high[i] < 0 || ::dup2(high[i], i) < 0) ::_exit(127);
    }
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
    ::execvp(c_argv[0], c_argv.data());
    ::_exit(127);
  }
  int status = reaper_.wait(pid);
  if (status == 0) return;
  Failure failure = last_error(log_offset);
  if (failure.reason.empty()) {
    failure.reason =
        status == 127 ? "cannot run " + kvrun_.string() : "exit status " + std::to_string(status);
  }
  throw CodedError(failure.code, "kvrun " + args.front() + ": " + failure.reason);
}

KvrunCommand::Failure KvrunCommand::last_error(std::uintmax_t log_offset) const {
  std::ifstream in(bundle_ / "log.json");
  in.seekg(static_cast<std::streamoff>(log_offset));
  std::string line;
  Failure failure;
  while (std::getline(in, line)) {
    auto json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_object() && json.value("level", "") == "error" && json.contains("msg") &&
        json["msg"].is_string()) {
      failure.reason = json["msg"].get<std::string>();
      // kvrun's failure line names its code (docs/cli.md); other error lines have none.
      auto code = json.find("code");
      failure.code = code != json.end() && code->is_string()
                         ? error_code_named(code->get<std::string>()).value_or(ErrorCode::kInternal)
                         : ErrorCode::kInternal;
    }
  }
  return failure;
}

}  // namespace kvrun::containerd
