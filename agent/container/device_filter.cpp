#include "agent/container/device_filter.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include "common/error.h"

namespace kvrun::agent {
namespace {

static_assert(spec::kDeviceMknod == BPF_DEVCG_ACC_MKNOD &&
              spec::kDeviceRead == BPF_DEVCG_ACC_READ && spec::kDeviceWrite == BPF_DEVCG_ACC_WRITE);

// Privileged loaders may go far beyond this, but a rule list that needs more is not a real one.
constexpr std::size_t kMaxInstructions = BPF_MAXINSNS;

constexpr spec::DeviceRuleSpec allow_char(std::optional<std::uint32_t> major,
                                          std::optional<std::uint32_t> minor,
                                          std::uint8_t access = spec::kDeviceAllAccess) {
  return spec::DeviceRuleSpec{true, spec::DeviceType::kChar, major, minor, access};
}

// runc's AllowedDevices (libcontainer/specconv), appended after the spec's rules so a spec
// cannot take them away. mknod of any node is allowed because images' init scripts make their
// own /dev entries; opening what they make is what the rules decide.
const std::array<spec::DeviceRuleSpec, 11> kDefaultRules = {
    spec::DeviceRuleSpec{true, spec::DeviceType::kChar, std::nullopt, std::nullopt,
                         spec::kDeviceMknod},
    spec::DeviceRuleSpec{true, spec::DeviceType::kBlock, std::nullopt, std::nullopt,
                         spec::kDeviceMknod},
    allow_char(1, 3),               // /dev/null
    allow_char(1, 8),               // /dev/random
    allow_char(1, 7),               // /dev/full
    allow_char(5, 0),               // /dev/tty
    allow_char(1, 5),               // /dev/zero
    allow_char(1, 9),               // /dev/urandom
    allow_char(136, std::nullopt),  // /dev/pts/*
    allow_char(5, 2),               // /dev/ptmx
    allow_char(10, 200),            // /dev/net/tun (runc keeps it for compatibility)
};

// ---- instruction encoding (only what the program below uses) -------------------------------

enum Reg : std::uint8_t { kR0 = 0, kR1, kR2, kR3, kR4, kR5 };

bpf_insn insn(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off,
              std::int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
bpf_insn load_u32(Reg dst, Reg base, std::int16_t offset) {
  return insn(BPF_LDX | BPF_MEM | BPF_W, dst, base, offset, 0);
}
bpf_insn alu32_imm(std::uint8_t op, Reg dst, std::int32_t imm) {
  return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn mov32_reg(Reg dst, Reg src) { return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0); }
// 32-bit compares: device numbers are u32, and a 64-bit compare would sign-extend imm.
// The offset is patched once the rule's block is complete.
bpf_insn jump32_imm(std::uint8_t op, Reg dst, std::uint32_t imm) {
  return insn(BPF_JMP32 | op | BPF_K, dst, 0, 0, static_cast<std::int32_t>(imm));
}
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

std::uint32_t bpf_device_type(spec::DeviceType type) {
  return type == spec::DeviceType::kChar ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
}

// One rule: conditional jumps to the end of the block when it does not match, then the
// verdict. Returns false if the rule matches every request (nothing after it can run).
bool append_rule(const spec::DeviceRuleSpec& rule, std::vector<bpf_insn>& program) {
  std::vector<bpf_insn> block;
  if (rule.type != spec::DeviceType::kAll)
    block.push_back(jump32_imm(BPF_JNE, kR2, bpf_device_type(rule.type)));
  if (rule.major) block.push_back(jump32_imm(BPF_JNE, kR4, *rule.major));
  if (rule.minor) block.push_back(jump32_imm(BPF_JNE, kR5, *rule.minor));
  if ((rule.access & spec::kDeviceAllAccess) != spec::kDeviceAllAccess) {
    block.push_back(mov32_reg(kR1, kR3));
    if (rule.allow) {
      // Matches only if the request asks for nothing the rule does not grant.
      block.push_back(alu32_imm(BPF_AND, kR1, ~rule.access & spec::kDeviceAllAccess));
      block.push_back(jump32_imm(BPF_JNE, kR1, 0));
    } else {
      // Matches if the request asks for anything the rule refuses.
      block.push_back(alu32_imm(BPF_AND, kR1, rule.access));
      block.push_back(jump32_imm(BPF_JEQ, kR1, 0));
    }
  }
  bool conditional = !block.empty();
  block.push_back(alu32_imm(BPF_MOV, kR0, rule.allow ? 1 : 0));
  block.push_back(exit_insn());
  for (std::size_t i = 0; i < block.size(); ++i) {
    if (BPF_CLASS(block[i].code) == BPF_JMP32) {
      block[i].off = static_cast<std::int16_t>(block.size() - i - 1);
    }
  }
  program.insert(program.end(), block.begin(), block.end());
  return conditional;
}

long bpf(int command, bpf_attr& attr) { return ::syscall(SYS_bpf, command, &attr, sizeof attr); }

UniqueFd load_program(std::span<const spec::DeviceRuleSpec> rules) {
  std::vector<bpf_insn> program = device_filter_program(rules);
  // No helper calls: the license string only labels the program.
  static const char kLicense[] = "Apache-2.0";
  bpf_attr attr{};
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.expected_attach_type = BPF_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<std::uint64_t>(program.data());
  attr.insn_cnt = static_cast<std::uint32_t>(program.size());
  attr.license = reinterpret_cast<std::uint64_t>(kLicense);
  std::strncpy(attr.prog_name, "kvrun_devices", sizeof attr.prog_name - 1);
  long fd = bpf(BPF_PROG_LOAD, attr);
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));
  int err = errno;
  // Once more with the verifier's log, which says why (only needed on failure).
  std::string log(65536, '\0');
  attr.log_level = 1;
  attr.log_buf = reinterpret_cast<std::uint64_t>(log.data());
  attr.log_size = static_cast<std::uint32_t>(log.size());
  fd = bpf(BPF_PROG_LOAD, attr);
  if (fd >= 0) ::close(static_cast<int>(fd));  // it loaded this time after all
  log.resize(std::strlen(log.c_str()));
  while (!log.empty() && log.back() == '\n') log.pop_back();
  if (auto last = log.rfind('\n'); last != std::string::npos) log = log.substr(last + 1);
  std::string what = "load the device filter (" + std::to_string(program.size()) + " instructions" +
                     (log.empty() ? "" : ", verifier: " + log) + ")";
  throw_errno(what, err);
}

}  // namespace

std::span<const spec::DeviceRuleSpec> default_device_rules() { return kDefaultRules; }

std::vector<spec::DeviceRuleSpec> effective_device_rules(const spec::ResourcesSpec& resources) {
  std::vector<spec::DeviceRuleSpec> rules;
  if (resources.devices) rules = *resources.devices;
  rules.insert(rules.end(), kDefaultRules.begin(), kDefaultRules.end());
  return rules;
}

std::vector<bpf_insn> device_filter_program(std::span<const spec::DeviceRuleSpec> rules) {
  // r2 = device type, r3 = requested access, r4 = major, r5 = minor (struct bpf_cgroup_dev_ctx).
  std::vector<bpf_insn> program = {
      load_u32(kR2, kR1, offsetof(bpf_cgroup_dev_ctx, access_type)),
      alu32_imm(BPF_AND, kR2, 0xffff),
      load_u32(kR3, kR1, offsetof(bpf_cgroup_dev_ctx, access_type)),
      alu32_imm(BPF_RSH, kR3, 16),
      load_u32(kR4, kR1, offsetof(bpf_cgroup_dev_ctx, major)),
      load_u32(kR5, kR1, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  // The last matching rule decides: test them from the last, the first match returns. A rule
  // that matches everything ends the program (the verifier refuses unreachable code).
  bool reachable = true;
  for (auto rule = rules.rbegin(); rule != rules.rend() && reachable; ++rule) {
    reachable = append_rule(*rule, program);
  }
  if (reachable) {
    program.push_back(alu32_imm(BPF_MOV, kR0, 0));  // nothing matched: deny
    program.push_back(exit_insn());
  }
  if (program.size() > kMaxInstructions) {
    throw Error("linux.resources.devices: " + std::to_string(rules.size()) +
                " rules need more than " + std::to_string(kMaxInstructions) + " BPF instructions");
  }
  return program;
}

DeviceFilter DeviceFilter::attach(const std::filesystem::path& cgroup,
                                  std::span<const spec::DeviceRuleSpec> rules) {
  UniqueFd program = load_program(rules);
  UniqueFd dir(::open(cgroup.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!dir) throw_errno("open cgroup " + cgroup.string());
  bpf_attr attr{};
  attr.target_fd = static_cast<std::uint32_t>(dir.get());
  attr.attach_bpf_fd = static_cast<std::uint32_t>(program.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  // ALLOW_MULTI: a runtime nested in the container may add programs below ours. The kernel
  // allows a device access only if every program on the way up allows it, so nothing attached
  // below can loosen ours.
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, attr) != 0) {
    throw_errno("attach the device filter to " + cgroup.string());
  }
  return DeviceFilter(std::move(dir), std::move(program));
}

void DeviceFilter::replace(std::span<const spec::DeviceRuleSpec> rules) {
  UniqueFd program = load_program(rules);
  bpf_attr attr{};
  attr.target_fd = static_cast<std::uint32_t>(cgroup_.get());
  attr.attach_bpf_fd = static_cast<std::uint32_t>(program.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI | BPF_F_REPLACE;
  attr.replace_bpf_fd = static_cast<std::uint32_t>(program_.get());
  if (bpf(BPF_PROG_ATTACH, attr) != 0) throw_errno("replace the device filter");
  program_ = std::move(program);  // closes the old one, no longer attached
}

DeviceFilter& DeviceFilter::operator=(DeviceFilter&& other) noexcept {
  if (this != &other) {
    detach();
    cgroup_ = std::move(other.cgroup_);
    program_ = std::move(other.program_);
  }
  return *this;
}

DeviceFilter::~DeviceFilter() { detach(); }

void DeviceFilter::detach() {
  if (!cgroup_ || !program_) return;
  bpf_attr attr{};
  attr.target_fd = static_cast<std::uint32_t>(cgroup_.get());
  attr.attach_bpf_fd = static_cast<std::uint32_t>(program_.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  // ENOENT: the cgroup is already gone, and the kernel detached it then.
  if (bpf(BPF_PROG_DETACH, attr) != 0 && errno != ENOENT) {
    spdlog::warn("detach the device filter: {}", std::strerror(errno));
  }
  program_.reset();
  cgroup_.reset();
}

}  // namespace kvrun::agent
