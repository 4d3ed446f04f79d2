#include "agent/container/process.h"

#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "common/error.h"

namespace kvrun::agent {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string search_path(const ProcessSpec& process) {
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

}  // namespace

void exec_process(const ProcessSpec& process) {
  if (::chdir(process.cwd.c_str()) != 0) throw_errno("chdir " + process.cwd);
  auto argv = c_strings(process.args);
  auto envp = c_strings(process.env);
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
