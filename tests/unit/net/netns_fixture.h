// Network namespaces for tests, made and removed with iproute2. Everything a test builds
// (taps, veth pairs, addresses) lives inside such a namespace, so the host's own interfaces
// and routes are never touched, and deleting the namespace removes all of it. Use only
// addresses in 10.209.0.0/16.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kvrun::test {

// Runs argv (argv[0] looked up in PATH) and waits for it. Throws kvrun::Error naming the
// command if it cannot run or exits non-zero.
void run_command(const std::vector<std::string>& argv);
// Runs argv with its output discarded and says whether it exited with status 0.
bool command_succeeds(const std::vector<std::string>& argv);

// A network namespace `kvt-<pid>-<n>` with `lo` up and IPv6 off; `ip netns del` in the
// destructor (also when a test fails half-way).
class TestNetns {
 public:
  TestNetns();
  ~TestNetns();
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;

  const std::string& name() const { return name_; }
  std::filesystem::path path() const { return "/run/netns/" + name_; }

  // `ip -n <name> <args...>`.
  void ip(const std::vector<std::string>& args) const;
  // Argv that runs `command` inside the namespace (`ip netns exec <name> ...`).
  std::vector<std::string> exec_argv(const std::vector<std::string>& command) const;

  // A persistent tap `tap_name` in this namespace, up, with `cidr` (e.g. "10.209.1.1/24").
  void add_tap(const std::string& tap_name, const std::string& cidr) const;

 private:
  std::string name_;
};

// A veth pair between two namespaces, each end up with its address; it goes away with either
// namespace.
void add_veth(const TestNetns& a, const std::string& a_cidr, const TestNetns& b,
              const std::string& b_cidr);

}  // namespace kvrun::test
