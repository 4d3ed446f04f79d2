// Device rules (linux.resources.devices) on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program
// attached to the container's cgroup. The kernel runs it on every open of a device node and on
// every mknod by a member of the cgroup, whatever mount the node is on and whatever
// capabilities the process has: it is what stops a container with CAP_MKNOD from making a node
// for the guest's disks, /dev/kmsg or the serial console and opening it.
//
// Semantics (those of runc and of cgroup v1, checked in tests/agent/unit/device_filter_test.cpp):
// the spec's rules are followed by the runtime's default rules (runc's: /dev/null, zero, full,
// random, urandom, tty, ptmx, pts/*, net/tun, and mknod of any node); the last rule that matches
// a request decides; nothing matching means deny. An allow rule matches only if it grants every
// access the request asks for; a deny rule matches if it refuses any of them.
#pragma once

#include <linux/bpf.h>

#include <filesystem>
#include <span>
#include <utility>
#include <vector>

#include "common/unique_fd.h"
#include "spec/spec.h"

namespace kvrun::agent {

// The rules every container gets after its own (runc's AllowedDevices).
std::span<const spec::DeviceRuleSpec> default_device_rules();
// The spec's rules (none if it has none), then the defaults.
std::vector<spec::DeviceRuleSpec> effective_device_rules(const spec::ResourcesSpec& resources);

// The program for rules: it returns 1 (allow) or 0 (deny) for a struct bpf_cgroup_dev_ctx.
// Pure; throws Error if the program would exceed the kernel's limit.
std::vector<bpf_insn> device_filter_program(std::span<const spec::DeviceRuleSpec> rules);

// A loaded program attached to one cgroup; detached and closed on destruction.
class DeviceFilter {
 public:
  // Loads the program for rules and attaches it to the cgroup directory. Throws Error naming
  // the step (with the verifier's log when it refuses the program).
  static DeviceFilter attach(const std::filesystem::path& cgroup,
                             std::span<const spec::DeviceRuleSpec> rules);

  DeviceFilter(DeviceFilter&& other) noexcept = default;
  DeviceFilter& operator=(DeviceFilter&& other) noexcept;
  DeviceFilter(const DeviceFilter&) = delete;
  DeviceFilter& operator=(const DeviceFilter&) = delete;
  ~DeviceFilter();

  // Swaps in a program for new rules in one step (BPF_F_REPLACE): no moment without a filter.
  // On error the old program stays attached.
  void replace(std::span<const spec::DeviceRuleSpec> rules);

  int program_fd() const { return program_.get(); }

 private:
  DeviceFilter(UniqueFd cgroup, UniqueFd program)
      : cgroup_(std::move(cgroup)), program_(std::move(program)) {}
  void detach();

  UniqueFd cgroup_, program_;
};

}  // namespace kvrun::agent
