#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include "common/error.h"
#include "shim/containerd/actions.h"
#include "shim/containerd/shim_socket.h"

namespace kvrun::containerd {
namespace {

// Written beside the bundle as containerd's shims do: temp file, then rename.
void write_file_atomically(const std::string& name, const std::string& content) {
  std::string temp = "." + name;
  {
    std::ofstream out(temp, std::ios::trunc);
    out << content;
    if (!out.flush()) throw Error("cannot write " + temp + " in the bundle");
  }
  if (::rename(temp.c_str(), name.c_str()) < 0) throw_errno("rename " + temp + " to " + name);
}

}  // namespace

int start_shim(const ShimFlags& flags, const std::string& self) {
  if (flags.id.empty()) throw Error("start: -id is required");
  std::string address = shim_socket_address(flags.address, flags.ns, flags.id);
  std::string path = socket_path(address);

  UniqueFd listener;
  try {
    listener = listen_unix(path);
  } catch (const Error&) {
    if (can_connect(path)) {  // a daemon for this id already serves: containerd reconnects
      write_file_atomically("address", address);
      std::fputs(address.c_str(), stdout);
      return 0;
    }
    ::unlink(path.c_str());  // a stale socket of a dead shim
    listener = listen_unix(path);
  }

  std::vector<std::string> args = {self,     "-namespace", flags.ns,     "-id",
                                   flags.id, "-address",   flags.address};
  if (!flags.publish_binary.empty()) {
    args.insert(args.end(), {"-publish-binary", flags.publish_binary});
  }
  if (flags.debug) args.push_back("-debug");
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) {
    ::unlink(path.c_str());
    throw_errno("fork");
  }
  if (pid == 0) {
    // Its own session, so containerd's signals to the start process group miss it; stdio
    // away from containerd's pipes (the daemon logs to the bundle's "log" FIFO), the
    // listener as fd 3.
    ::setsid();
    int null_fd = ::open("/dev/null", O_RDWR);
    if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(null_fd, 1) < 0 || ::dup2(null_fd, 2) < 0 ||
        (listener.get() == 3 ? ::fcntl(3, F_SETFD, 0) : ::dup2(listener.get(), 3)) < 0) {
      ::_exit(127);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  try {
    write_file_atomically("address", address);
    write_file_atomically("shim.pid", std::to_string(pid));
  } catch (...) {
    ::kill(pid, SIGKILL);
    ::unlink(path.c_str());
    throw;
  }
  std::fputs(address.c_str(), stdout);
  return 0;
}

}  // namespace kvrun::containerd
