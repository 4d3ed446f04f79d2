#include "agent_harness.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/error.h"
#include "protocol/client.h"
#include "protocol/framing.h"
#include "spec/spec.h"

namespace kvrun::agent::test {

TempDir::TempDir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "kvrun-agent-test.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path make_busybox_rootfs(const std::filesystem::path& dir) {
  auto rootfs = dir / "rootfs";
  for (const char* sub : {"bin", "proc", "sys", "dev", "tmp", "etc", "root"}) {
    std::filesystem::create_directories(rootfs / sub);
  }
  std::filesystem::copy_file("/bin/busybox", rootfs / "bin/busybox");
  FILE* list = ::popen("/bin/busybox --list", "r");
  if (list == nullptr) throw_errno("popen busybox --list");
  char line[256];
  while (std::fgets(line, sizeof line, list) != nullptr) {
    std::string applet(line);
    while (!applet.empty() && (applet.back() == '\n' || applet.back() == '\r')) applet.pop_back();
    if (applet.empty() || applet == "busybox") continue;
    std::filesystem::create_symlink("busybox", rootfs / "bin" / applet);
  }
  ::pclose(list);
  std::ofstream(rootfs / "etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n";
  return rootfs;
}

AgentProcess::AgentProcess(const std::filesystem::path& dir, std::vector<std::string> extra_args,
                           std::vector<std::string> wrapper)
    : socket_(dir / "agent.sock"), log_(dir / "agent.log") {
  std::vector<std::string> args = std::move(wrapper);
  args.insert(args.end(),
              {KVRUN_AGENT_BINARY, "--listen", "unix:" + socket_.string(), "--log-level", "debug"});
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = ::fork();
  if (pid_ < 0) throw_errno("fork");
  if (pid_ == 0) {
    int log = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(log, 1);
    ::dup2(log, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, socket_.c_str(), sizeof sa.sun_path - 1);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    if (ok) return;
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("kvrun-agent exited at startup: " + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("kvrun-agent did not listen within 20 s: " + log());
}

AgentProcess::~AgentProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 500; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "kvrun-agent did not exit within 10 s of SIGTERM:\n" << log();
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

int AgentProcess::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pid_ > 0) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

std::string AgentProcess::log() const {
  std::ifstream in(log_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

UniqueFd connect_unix(const std::filesystem::path& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    throw_errno("connect " + path.string());
  }
  // A hung agent must fail the test, not hang it.
  timeval timeout{60, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

AgentClient::AgentClient(const std::filesystem::path& socket) : fd_(connect_unix(socket)) {}

protocol::ReplyEnvelope AgentClient::call(const std::string& type, const nlohmann::json& body) {
  nlohmann::json request = {
      {"version", protocol::kProtocolVersion}, {"id", next_id_++}, {"type", type}, {"body", body}};
  return call_raw(request.dump());
}

protocol::ReplyEnvelope AgentClient::call_raw(const std::string& frame_body) {
  protocol::write_frame(fd_.get(), frame_body);
  return read_reply();
}

void AgentClient::send_bytes(const std::string& bytes) {
  if (::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(bytes.size())) {
    throw_errno("send");
  }
}

protocol::ReplyEnvelope AgentClient::read_reply() {
  auto frame = protocol::read_frame(fd_.get());
  if (!frame) throw Error("agent closed the connection");
  return protocol::decode_reply(*frame);
}

UniqueFd attach(const std::filesystem::path& socket, const std::string& container,
                const std::string& exec_id, const std::string& stream) {
  protocol::AttachStdio request{container, exec_id, protocol::StdioStream::kStdout};
  if (stream == "stdin") request.stream = protocol::StdioStream::kStdin;
  if (stream == "stderr") request.stream = protocol::StdioStream::kStderr;
  return protocol::attach_stdio(connect_unix(socket), request);
}

std::string read_all(int fd) {
  std::string out;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read stream");
    if (n == 0) return out;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

nlohmann::json base_config(const std::vector<std::string>& args) {
  return {
      {"ociVersion", "1.0.2"},
      {"process",
       {{"args", args},
        {"env", {"PATH=/bin", "HOME=/root"}},
        {"cwd", "/"},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"capabilities",
         {{"bounding", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN", "CAP_SETUID", "CAP_SETGID"}},
          {"effective", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN", "CAP_SETUID", "CAP_SETGID"}},
          {"permitted", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN", "CAP_SETUID", "CAP_SETGID"}}}}}},
      {"root", {{"path", "rootfs"}}},
      {"hostname", "kvrun-test"},
      {"mounts",
       nlohmann::json::array(
           {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
            {{"destination", "/dev"},
             {"type", "tmpfs"},
             {"source", "tmpfs"},
             {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
            {{"destination", "/dev/pts"},
             {"type", "devpts"},
             {"source", "devpts"},
             {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
            {{"destination", "/sys"},
             {"type", "sysfs"},
             {"source", "sysfs"},
             {"options", {"nosuid", "noexec", "nodev", "ro"}}},
            {{"destination", "/tmp"},
             {"type", "tmpfs"},
             {"source", "tmpfs"},
             {"options", {"nosuid", "nodev"}}}})},
      {"linux",
       {{"namespaces",
         {{{"type", "pid"}},
          {{"type", "network"}},
          {{"type", "ipc"}},
          {{"type", "uts"}},
          {{"type", "mount"}}}}}}};
}

RunResult run_container(const std::filesystem::path& socket, const std::string& id,
                        const nlohmann::json& config, const std::filesystem::path& rootfs) {
  protocol::Client client(connect_unix(socket));
  protocol::CreateContainer create;
  create.container_id = id;
  create.config = config;
  create.rootfs = rootfs.string();
  client.call(create);
  UniqueFd out = attach(socket, id, "", "stdout");
  UniqueFd err = attach(socket, id, "", "stderr");
  // Read stderr concurrently so neither pipe can fill up and stall the container.
  auto err_text = std::async(std::launch::async, [&] { return read_all(err.get()); });
  RunResult result;
  std::optional<protocol::AgentError> start_error;
  try {
    client.call(protocol::StartContainer{id});
  } catch (const protocol::AgentError& e) {
    start_error = e;  // thrown once the output is read
  }
  result.out = read_all(out.get());
  result.err = err_text.get();
  if (start_error) throw *start_error;
  result.exit_status = client.call(protocol::WaitProcess{id, ""}).exit_status;
  client.call(protocol::RemoveContainer{id, false});
  return result;
}

std::string spec_error(const nlohmann::json& config) {
  try {
    spec::parse_container_spec(config);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

}  // namespace kvrun::agent::test
