// The /dev/kvm handle: checks that this KVM can run our VMs and answers system-wide queries.
#pragma once

#include <linux/kvm.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "common/unique_fd.h"

namespace kvrun::vmm {

class KvmSystem {
 public:
  static constexpr const char* kDefaultPath = "/dev/kvm";
  static constexpr int kApiVersion = 12;  // the only stable KVM API there has ever been

  // Opens `path` (never creating it) and checks the API version and every extension kvrun
  // relies on. Throws kvrun::Error "<path>: <reason>".
  static KvmSystem open(const std::string& path = kDefaultPath);

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

  // KVM_CHECK_EXTENSION: 0 when absent, else a capability-specific positive value.
  int check_extension(int capability) const;
  // Size of the kvm_run area every vCPU fd maps.
  size_t vcpu_mmap_size() const;
  // KVM_GET_SUPPORTED_CPUID: every leaf KVM can present to a guest on this host.
  std::vector<kvm_cpuid_entry2> supported_cpuid() const;

 private:
  KvmSystem(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  UniqueFd fd_;
  std::string path_;
};

}  // namespace kvrun::vmm
