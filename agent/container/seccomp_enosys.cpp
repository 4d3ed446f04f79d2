#include "agent/container/seccomp_enosys.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstddef>
#include <map>

namespace kvrun::agent {
namespace {

constexpr std::uint32_t kX32Bit = 0x40000000;  // __X32_SYSCALL_BIT
constexpr std::uint32_t kRetEnosys = SECCOMP_RET_ERRNO | ENOSYS;
constexpr std::uint32_t kOffsetNr = offsetof(seccomp_data, nr);
constexpr std::uint32_t kOffsetArch = offsetof(seccomp_data, arch);

sock_filter stmt(std::uint16_t code, std::uint32_t k) { return {code, 0, 0, k}; }
sock_filter jump(std::uint16_t code, std::uint32_t k, std::uint8_t jt, std::uint8_t jf) {
  return {code, jt, jf, k};
}

// The stub under construction: `ja` instructions to the filter's start are fixed up last,
// when the stub's length is known.
struct Stub {
  std::vector<sock_filter> code;
  std::vector<std::size_t> to_filter;

  void jump_to_filter() {
    to_filter.push_back(code.size());
    code.push_back(stmt(BPF_JMP | BPF_JA, 0));
  }
  // nr > max: ENOSYS; otherwise on to the filter.
  void check(std::uint32_t max) {
    code.push_back(jump(BPF_JMP | BPF_JGT | BPF_K, max, 0, 1));
    code.push_back(stmt(BPF_RET | BPF_K, kRetEnosys));
    jump_to_filter();
  }
  // A check where the architecture has a largest call, else straight to the filter.
  void check_or_skip(const std::map<std::uint32_t, std::uint32_t>& max, std::uint32_t arch) {
    auto it = max.find(arch);
    if (it != max.end()) {
      check(it->second);
    } else {
      jump_to_filter();
    }
  }
};

// The kernel's AUDIT_ARCH_* for a libseccomp token: x32 is x86_64's, told apart by the
// syscall number's x32 bit; every other token is its AUDIT_ARCH_* value already.
std::uint32_t audit_arch(std::uint32_t token) {
  return token == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : token;
}

}  // namespace

std::vector<sock_filter> enosys_stub(const spec::SeccompSpec& spec,
                                     const std::vector<std::uint32_t>& arches) {
  const auto& action = spec.default_action;
  if (action == "SCMP_ACT_ALLOW" || action == "SCMP_ACT_LOG" || action == "SCMP_ACT_TRACE") {
    return {};  // calls the profile does not name go through anyway
  }
  if (action == "SCMP_ACT_ERRNO" && spec.default_errno_ret == ENOSYS) return {};

  // Largest call the profile names, per kernel architecture and libseccomp token.
  std::map<std::uint32_t, std::map<std::uint32_t, std::uint32_t>> largest;
  for (std::uint32_t token : arches) {
    std::uint32_t max = 0;
    for (const auto& rule : spec.syscalls) {
      for (const auto& name : rule.names) {
        int nr = seccomp_syscall_resolve_name_arch(token, name.c_str());
        if (nr > 0 && static_cast<std::uint32_t>(nr) > max) max = static_cast<std::uint32_t>(nr);
      }
    }
    if (max == 0) {
      spdlog::debug("seccomp: the profile names no call of architecture {:#x}", token);
      continue;
    }
    largest[audit_arch(token)][token] = max;
  }
  if (largest.empty()) return {};

  // ld arch; per architecture "jeq arch: ja its section"; else ja filter; then the sections.
  Stub stub;
  stub.code.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, kOffsetArch));
  std::vector<std::pair<std::size_t, std::uint32_t>> dispatch;  // (index of its ja, arch)
  for (const auto& [arch, max] : largest) {
    stub.code.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, arch, 0, 1));
    dispatch.emplace_back(stub.code.size(), arch);
    stub.code.push_back(stmt(BPF_JMP | BPF_JA, 0));
  }
  stub.jump_to_filter();
  for (const auto& [index, arch] : dispatch) {
    stub.code[index].k = static_cast<std::uint32_t>(stub.code.size() - index - 1);
    const auto& max = largest.at(arch);
    stub.code.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, kOffsetNr));
    if (arch != AUDIT_ARCH_X86_64) {
      stub.check(max.begin()->second);
      continue;
    }
    // x86_64: an x32 call has the x32 bit set; each mode has its own largest call (libseccomp
    // numbers x32 calls with the bit), and a mode the profile does not list goes to the filter.
    std::size_t jset = stub.code.size();
    stub.code.push_back(jump(BPF_JMP | BPF_JSET | BPF_K, kX32Bit, 0, 0));
    stub.check_or_skip(max, SCMP_ARCH_X32);
    stub.code[jset].jf = static_cast<std::uint8_t>(stub.code.size() - jset - 1);
    stub.check_or_skip(max, SCMP_ARCH_X86_64);
  }
  for (std::size_t index : stub.to_filter) {
    stub.code[index].k = static_cast<std::uint32_t>(stub.code.size() - index - 1);
  }
  return stub.code;
}

}  // namespace kvrun::agent
