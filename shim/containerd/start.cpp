#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/error.h"
#include "shim/containerd/actions.h"
#include "shim/containerd/shim_socket.h"
#include "shim/oci/pod.h"

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

// The pod sandbox whose shim serves this container (CRI's annotations in the bundle's
// config.json, read in the bundle directory), or "" for a container that is no pod's member.
// An unreadable config gets a shim of its own: kvrun create reports what is wrong with it.
std::string pod_sandbox_of(const std::string& id) {
  std::ifstream in("config.json");
  auto config = nlohmann::json::parse(in, nullptr, false);
  if (!config.is_object() || !config.contains("annotations") ||
      !config["annotations"].is_object())
    return "";
  std::map<std::string, std::string> annotations;
  for (const auto& [key, value] : config["annotations"].items()) {
    if (value.is_string()) annotations[key] = value.get<std::string>();
  }
  try {
    oci::PodPlacement placement = oci::pod_placement(annotations, id);
    return placement.role == oci::PodRole::kMember ? placement.sandbox_id : "";
  } catch (const Error&) {
    return "";
  }
}

}  // namespace

int start_shim(const ShimFlags& flags, const std::string& self) {
  if (flags.id.empty()) throw Error("start: -id is required");
  // A pod's containers share its sandbox container's shim, as they share its VM (runc-v2
  // groups a pod under one shim the same way). If that shim is gone, one of its own.
  if (std::string sandbox = pod_sandbox_of(flags.id); !sandbox.empty()) {
    std::string address = shim_socket_address(flags.address, flags.ns, sandbox);
    if (can_connect(socket_path(address))) {
      write_file_atomically("address", address);
      std::fputs(address.c_str(), stdout);
      return 0;
    }
  }
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
