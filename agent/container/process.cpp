#include "agent/container/process.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/unique_fd.h"

namespace kvrun::agent {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string search_path(const spec::ProcessSpec& process) {
  std::string path = kDefaultPath;
  for (const auto& entry : process.env) {
    if (entry.rfind("PATH=", 0) == 0) path = entry.substr(5);
  }
  return path;
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// The container's own file, read by its own process: only the first MiB is looked at.
constexpr std::streamsize kMaxPasswdBytes = 1 << 20;

// As runc: the home directory of the process's uid in the container's /etc/passwd, else "/".
std::string default_home() {
  // The image's (or a running container's) file: a FIFO there must not block the exec, and with
  // it the agent, which waits for the child.
  UniqueFd passwd(::open("/etc/passwd", O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  struct stat st {};
  if (!passwd || ::fstat(passwd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return "/";
  std::string text(static_cast<std::size_t>(kMaxPasswdBytes), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(passwd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  const std::string uid = std::to_string(::getuid());
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    // name:password:uid:gid:gecos:home:shell
    std::vector<std::string> fields;
    std::istringstream parts(line);
    for (std::string field; std::getline(parts, field, ':');) fields.push_back(field);
    if (fields.size() >= 6 && fields[2] == uid && !fields[5].empty()) return fields[5];
  }
  return "/";
}

}  // namespace

void exec_process(const spec::ProcessSpec& process) {
  if (::chdir(process.cwd.c_str()) != 0) throw_errno("chdir " + process.cwd);
  auto argv = c_strings(process.args);
  std::vector<std::string> env = process.env;
  bool has_home = false;
  for (const auto& entry : env) has_home = has_home || entry.rfind("HOME=", 0) == 0;
  if (!has_home) env.push_back("HOME=" + default_home());
  auto envp = c_strings(env);
  const std::string& program = process.args.front();
  if (program.find('/') != std::string::npos) {
    ::execve(program.c_str(), argv.data(), envp.data());
    throw_errno("exec " + program);
  }
  // Like execvp: remember the most telling error (EACCES beats ENOENT).
  int saved = ENOENT;
  std::string search = search_path(process);
  std::size_t start = 0;
  while (start <= search.size()) {
    std::size_t end = search.find(':', start);
    if (end == std::string::npos) end = search.size();
    std::string dir = search.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    ::execve(candidate.c_str(), argv.data(), envp.data());
    if (errno != ENOENT && errno != ENOTDIR) saved = errno;
    start = end + 1;
  }
  if (saved == ENOENT) throw Error("exec " + program + ": executable file not found in $PATH");
  throw_errno("exec " + program, saved);
}

}  // namespace kvrun::agent
