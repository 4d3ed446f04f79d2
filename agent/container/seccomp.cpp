#include "agent/container/seccomp.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "agent/container/seccomp_enosys.h"
#include "common/error.h"
#include "common/unique_fd.h"

namespace kvrun::agent {
namespace {

std::uint32_t action_of(const std::string& name, std::optional<std::uint32_t> errno_ret) {
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  throw Error("unknown seccomp action " + name);  // the spec parser lets none through
}

scmp_compare compare_of(const std::string& op) {
  if (op == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (op == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (op == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (op == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
  if (op == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (op == "SCMP_CMP_GT") return SCMP_CMP_GT;
  return SCMP_CMP_MASKED_EQ;
}

std::uint32_t arch_of(const std::string& name) {
  // "SCMP_ARCH_X86_64" -> "x86_64", the spelling seccomp_arch_resolve_name() understands.
  std::string prefix = "SCMP_ARCH_";
  if (name.rfind(prefix, 0) != 0) throw Error("unknown seccomp architecture " + name);
  std::string lower;
  for (char c : name.substr(prefix.size())) lower += static_cast<char>(std::tolower(c));
  std::uint32_t arch = seccomp_arch_resolve_name(lower.c_str());
  if (arch == 0) throw Error("unknown seccomp architecture " + name);
  return arch;
}

void check(int rc, const std::string& what) {
  if (rc < 0) throw Error(what + ": " + std::strerror(-rc));
}

void set_flags(scmp_filter_ctx ctx, const std::optional<std::vector<std::string>>& flags) {
  if (!flags) {
    // runc's default when the spec lists no flags at all (not even []): SPEC_ALLOW, where
    // libseccomp and the kernel have it.
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
    if (rc < 0) spdlog::debug("seccomp: SPEC_ALLOW unavailable ({}), not set", std::strerror(-rc));
    return;
  }
  for (const auto& flag : *flags) {
    scmp_filter_attr attr = SCMP_FLTATR_CTL_TSYNC;
    if (flag == "SECCOMP_FILTER_FLAG_LOG") attr = SCMP_FLTATR_CTL_LOG;
    if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") attr = SCMP_FLTATR_CTL_SSB;
    // TSYNC: the child loads the filter single-threaded, so it changes nothing, as in runc
    // (whose libseccomp binding sets it always).
    check(seccomp_attr_set(ctx, attr, 1), "linux.seccomp.flags: set " + flag);
  }
}

// runc's rule: conditions on distinct arguments form one rule (all must hold); as soon as one
// argument is named twice (personality: arg0 is 0, 8 or 0xffffffff) each condition becomes a
// rule of its own (any may hold), since libseccomp refuses two comparisons of one argument.
std::vector<std::vector<scmp_arg_cmp>> rule_conditions(const spec::SeccompRuleSpec& rule) {
  std::vector<scmp_arg_cmp> all;
  std::array<unsigned, 6> per_index{};
  bool repeated = false;
  for (const auto& a : rule.args) {
    // MASKED_EQ: datum_a is the mask, datum_b the value, i.e. OCI's value and valueTwo.
    all.push_back(scmp_arg_cmp{a.index, compare_of(a.op), a.value, a.value_two});
    if (++per_index.at(a.index) > 1) repeated = true;
  }
  if (!repeated) return {all};
  std::vector<std::vector<scmp_arg_cmp>> split;
  for (const auto& cmp : all) split.push_back({cmp});
  return split;
}

// libseccomp's program behind runc's -ENOSYS stub (seccomp_enosys.h): read back from a memfd.
std::vector<sock_filter> with_stub(scmp_filter_ctx ctx, std::vector<sock_filter> stub) {
  UniqueFd fd(::memfd_create("kvrun-seccomp", MFD_CLOEXEC));
  if (!fd) throw_errno("seccomp: memfd_create");
  check(seccomp_export_bpf(ctx, fd.get()), "seccomp: export the filter");
  off_t size = ::lseek(fd.get(), 0, SEEK_END);
  if (size < 0 || size % sizeof(sock_filter) != 0) throw Error("seccomp: exported filter is torn");
  std::size_t count = static_cast<std::size_t>(size) / sizeof(sock_filter);
  if (stub.size() + count > BPF_MAXINSNS) {
    throw Error("seccomp: the filter has " + std::to_string(stub.size() + count) +
                " instructions, the kernel takes " + std::to_string(BPF_MAXINSNS));
  }
  std::vector<sock_filter> program = std::move(stub);
  std::size_t at = program.size();
  program.resize(at + count);
  if (::pread(fd.get(), program.data() + at, static_cast<std::size_t>(size), 0) != size) {
    throw_errno("seccomp: read the exported filter");
  }
  return program;
}

std::uint32_t attr(scmp_filter_ctx ctx, scmp_filter_attr which) {
  std::uint32_t value = 0;
  return seccomp_attr_get(ctx, which, &value) == 0 ? value : 0;
}

}  // namespace

struct SeccompFilter::Context {
  scmp_filter_ctx ctx = nullptr;
  std::vector<sock_filter> program;  // with the -ENOSYS stub; empty: libseccomp loads its own
  ~Context() {
    if (ctx != nullptr) seccomp_release(ctx);
  }
};

SeccompFilter::SeccompFilter(std::unique_ptr<Context> context) : context_(std::move(context)) {}
SeccompFilter::SeccompFilter(SeccompFilter&&) noexcept = default;
SeccompFilter& SeccompFilter::operator=(SeccompFilter&&) noexcept = default;
SeccompFilter::~SeccompFilter() = default;

SeccompFilter SeccompFilter::compile(const spec::SeccompSpec& spec) {
  auto context = std::make_unique<Context>();
  std::uint32_t default_action = action_of(spec.default_action, spec.default_errno_ret);
  context->ctx = seccomp_init(default_action);
  if (context->ctx == nullptr) throw Error("seccomp_init failed");
  check(seccomp_attr_set(context->ctx, SCMP_FLTATR_CTL_NNP, 0), "seccomp: clear the NNP attribute");
  std::vector<std::uint32_t> arches;
  for (const auto& name : spec.architectures) {
    arches.push_back(arch_of(name));
    int rc = seccomp_arch_add(context->ctx, arches.back());
    if (rc != -EEXIST) check(rc, "seccomp: add architecture " + name);
  }
  set_flags(context->ctx, spec.flags);
  for (const auto& rule : spec.syscalls) {
    std::uint32_t action = action_of(rule.action, rule.errno_ret);
    if (action == default_action) continue;  // libseccomp rejects rules that change nothing
    auto conditions = rule_conditions(rule);
    for (std::size_t i = 0; i < rule.names.size(); ++i) {
      const auto& name = rule.names[i];
      std::string field = rule.path + ".names[" + std::to_string(i) + "]";
      int nr = seccomp_syscall_resolve_name(name.c_str());
      // Profiles list syscalls of every architecture; an unknown name is skipped, as in runc,
      // because Docker's default profile would otherwise fail on any one kernel.
      if (nr == __NR_SCMP_ERROR) {
        spdlog::debug("{}: syscall {} unknown on this architecture, skipped", field, name);
        continue;
      }
      for (const auto& args : conditions) {
        check(seccomp_rule_add_array(context->ctx, action, nr, static_cast<unsigned>(args.size()),
                                     args.data()),
              field + ": seccomp rule for " + name);
      }
    }
  }
  auto stub = enosys_stub(spec, arches);
  if (!stub.empty()) context->program = with_stub(context->ctx, std::move(stub));
  return SeccompFilter(std::move(context));
}

void SeccompFilter::load() const {
  if (context_->program.empty()) {
    check(seccomp_load(context_->ctx), "seccomp: load the filter");
    return;
  }
  // What seccomp_load() would pass, for the program it did not build alone.
  unsigned flags = 0;
  if (attr(context_->ctx, SCMP_FLTATR_CTL_TSYNC) != 0) flags |= SECCOMP_FILTER_FLAG_TSYNC;
  if (attr(context_->ctx, SCMP_FLTATR_CTL_LOG) != 0) flags |= SECCOMP_FILTER_FLAG_LOG;
  if (attr(context_->ctx, SCMP_FLTATR_CTL_SSB) != 0) flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  sock_fprog prog{static_cast<unsigned short>(context_->program.size()), context_->program.data()};
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) != 0) {
    throw_errno("seccomp: load the filter");
  }
}

}  // namespace kvrun::agent
