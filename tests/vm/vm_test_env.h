// What the VM tests need from the build and the machine: where kvrun-vmm, the test guests, the
// initramfs and the guest kernel are, whether /dev/kvm works, and a runner for kvrun-vmm.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/child_process.h"

namespace kvrun::test {

std::string vmm_path();
// <build>/vmm/test-guests/<name>.elf
std::string test_guest_path(const std::string& name);
std::string initramfs_path();

// Empty if /dev/kvm opens read-write; otherwise why not ("No such file or directory").
std::string kvm_unavailable_reason();

// The guest kernel: $KVRUN_KERNEL, else what `kernel-config/build-kernel.sh --print-path`
// reports. Sets `error` to a how-to-build message and returns "" if there is none.
std::string guest_kernel_path(std::string& error);

// A string no other process on the machine has in its argv, to find leftovers by.
std::string unique_token();

// kvrun-vmm with `args`, run to completion or killed after `timeout`.
ChildProcess run_vmm(const std::vector<std::string>& args, std::chrono::milliseconds timeout);

// PIDs of processes whose command line contains `needle` (this process excluded).
std::vector<int> processes_with_argument(const std::string& needle);

// Number of lines in `text` (a last line without '\n' counts).
int count_lines(const std::string& text);

}  // namespace kvrun::test

// For tests that need KVM: fails the test (it must not skip) when /dev/kvm is unusable.
#define KVRUN_REQUIRE_KVM()                                                      \
  do {                                                                           \
    if (std::string why = ::kvrun::test::kvm_unavailable_reason(); !why.empty()) \
      GTEST_FAIL() << "needs /dev/kvm: " << why;                                 \
  } while (0)

// For tests that boot our Linux kernel: KVM as above, then sets `kernel` (a std::string) to the
// guest kernel's path, or fails the test with how to build one.
#define KVRUN_REQUIRE_KVM_AND_GUEST_KERNEL(kernel)                   \
  do {                                                               \
    KVRUN_REQUIRE_KVM();                                             \
    std::string kvrun_kernel_error;                                  \
    (kernel) = ::kvrun::test::guest_kernel_path(kvrun_kernel_error); \
    if ((kernel).empty()) GTEST_FAIL() << kvrun_kernel_error;        \
  } while (0)
