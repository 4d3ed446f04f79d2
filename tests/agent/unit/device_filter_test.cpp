// The device filter's BPF program, run here by a small interpreter of the instructions it may
// contain (anything else fails the test): what it decides for each request, rule order, access
// subsets, wildcards and the runtime's default rules. Loading it into a kernel and attaching it
// is tests/agent/root/device_filter_test.cpp.
#include "agent/container/device_filter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/error.h"

namespace kvrun::agent {
namespace {

struct Request {
  std::uint32_t type;    // BPF_DEVCG_DEV_*
  std::uint32_t access;  // BPF_DEVCG_ACC_* bits
  std::uint32_t major, minor;
};

constexpr std::uint32_t kChar = BPF_DEVCG_DEV_CHAR, kBlock = BPF_DEVCG_DEV_BLOCK;
constexpr std::uint32_t kR = BPF_DEVCG_ACC_READ, kW = BPF_DEVCG_ACC_WRITE, kM = BPF_DEVCG_ACC_MKNOD;

// Runs program on one request the way the kernel's interpreter would; fails the test (and
// returns nullopt) on an instruction the generator is not supposed to emit, a jump out of the
// program, a read of an unset register, or running off the end.
std::optional<std::uint32_t> run(const std::vector<bpf_insn>& program, const Request& request) {
  bpf_cgroup_dev_ctx ctx{(request.access << 16) | request.type, request.major, request.minor};
  std::uint64_t reg[11] = {};
  bool set[11] = {};
  set[1] = true;  // r1: the context
  auto get = [&](unsigned r) -> std::optional<std::uint64_t> {
    if (r > 10 || !set[r]) {
      ADD_FAILURE() << "read of unset register r" << r;
      return std::nullopt;
    }
    return reg[r];
  };
  for (std::size_t pc = 0, steps = 0; pc < program.size() && steps < 100000; ++pc, ++steps) {
    const bpf_insn& i = program[pc];
    unsigned dst = i.dst_reg, src = i.src_reg;
    std::uint32_t imm = static_cast<std::uint32_t>(i.imm);
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W: {
        if (src != 1 || i.off < 0 || i.off % 4 != 0 || i.off + 4 > int(sizeof ctx)) {
          ADD_FAILURE() << "load outside the context at " << pc;
          return std::nullopt;
        }
        std::uint32_t value;
        std::memcpy(&value, reinterpret_cast<const char*>(&ctx) + i.off, 4);
        reg[dst] = value;
        set[dst] = true;
        break;
      }
      case BPF_ALU | BPF_AND | BPF_K:
      case BPF_ALU | BPF_RSH | BPF_K: {
        auto v = get(dst);
        if (!v) return std::nullopt;
        std::uint32_t w = static_cast<std::uint32_t>(*v);
        reg[dst] = BPF_OP(i.code) == BPF_AND ? (w & imm) : (w >> (imm & 31));
        break;
      }
      case BPF_ALU | BPF_MOV | BPF_K:
        reg[dst] = imm;
        set[dst] = true;
        break;
      case BPF_ALU | BPF_MOV | BPF_X: {
        auto v = get(src);
        if (!v) return std::nullopt;
        reg[dst] = static_cast<std::uint32_t>(*v);
        set[dst] = true;
        break;
      }
      case BPF_JMP32 | BPF_JNE | BPF_K:
      case BPF_JMP32 | BPF_JEQ | BPF_K: {
        auto v = get(dst);
        if (!v) return std::nullopt;
        bool equal = static_cast<std::uint32_t>(*v) == imm;
        bool taken = BPF_OP(i.code) == BPF_JEQ ? equal : !equal;
        if (i.off < 0 || pc + 1 + i.off >= program.size()) {
          ADD_FAILURE() << "jump out of the program at " << pc;
          return std::nullopt;
        }
        if (taken) pc += i.off;
        break;
      }
      case BPF_JMP | BPF_EXIT: {
        auto v = get(0);
        if (!v) return std::nullopt;
        return static_cast<std::uint32_t>(*v);
      }
      default:
        ADD_FAILURE() << "unexpected opcode 0x" << std::hex << int(i.code) << " at " << pc;
        return std::nullopt;
    }
  }
  ADD_FAILURE() << "ran off the end of the program";
  return std::nullopt;
}

// Every instruction is reachable (the kernel's verifier refuses dead code).
void expect_all_reachable(const std::vector<bpf_insn>& program) {
  std::vector<bool> reached(program.size(), false);
  std::vector<std::size_t> todo = {0};
  while (!todo.empty()) {
    std::size_t pc = todo.back();
    todo.pop_back();
    if (pc >= program.size() || reached[pc]) continue;
    reached[pc] = true;
    const bpf_insn& i = program[pc];
    if (i.code == (BPF_JMP | BPF_EXIT)) continue;
    if (BPF_CLASS(i.code) == BPF_JMP32) todo.push_back(pc + 1 + i.off);
    todo.push_back(pc + 1);
  }
  for (std::size_t pc = 0; pc < program.size(); ++pc) {
    EXPECT_TRUE(reached[pc]) << "instruction " << pc << " is unreachable";
  }
}

spec::DeviceRuleSpec rule(bool allow, spec::DeviceType type, std::optional<std::uint32_t> major,
                          std::optional<std::uint32_t> minor, std::uint8_t access) {
  return spec::DeviceRuleSpec{allow, type, major, minor, access};
}

// The decision for request under rules alone (no defaults): true = allowed.
bool allowed(const std::vector<spec::DeviceRuleSpec>& rules, const Request& request) {
  auto program = device_filter_program(rules);
  expect_all_reachable(program);
  auto verdict = run(program, request);
  EXPECT_TRUE(verdict == 0u || verdict == 1u);
  return verdict == 1u;
}

// With the spec's rules followed by the runtime's defaults, as a container gets them.
bool allowed_in_container(const std::vector<spec::DeviceRuleSpec>& spec_rules,
                          const Request& request) {
  spec::ResourcesSpec resources;
  resources.devices = spec_rules;
  return allowed(effective_device_rules(resources), request);
}

const spec::DeviceRuleSpec kDenyAll =
    rule(false, spec::DeviceType::kAll, {}, {}, spec::kDeviceAllAccess);
const spec::DeviceRuleSpec kAllowAll =
    rule(true, spec::DeviceType::kAll, {}, {}, spec::kDeviceAllAccess);

TEST(DeviceFilter, NoRulesDenyEverything) {
  EXPECT_FALSE(allowed({}, {kChar, kR, 1, 3}));
  EXPECT_FALSE(allowed({}, {kBlock, kM, 8, 0}));
}

TEST(DeviceFilter, ContainerdsDenyAllKeepsTheDefaultDevicesOnly) {
  // containerd's default spec: one rule, deny everything; runc's defaults follow it.
  std::vector<spec::DeviceRuleSpec> spec = {kDenyAll};
  for (auto [major, minor] : {std::pair{1u, 3u},
                              {1u, 5u},
                              {1u, 7u},
                              {1u, 8u},
                              {1u, 9u},
                              {5u, 0u},
                              {5u, 2u},
                              {136u, 0u},
                              {136u, 42u},
                              {10u, 200u}}) {
    EXPECT_TRUE(allowed_in_container(spec, {kChar, kR | kW, major, minor}))
        << major << ":" << minor;
  }
  // The guest's disks, /dev/kmsg, ttyS0, /dev/mem, /dev/console: neither read nor written.
  for (auto [type, major, minor] : {std::tuple{kBlock, 254u, 0u},
                                    {kBlock, 254u, 16u},
                                    {kChar, 1u, 11u},
                                    {kChar, 4u, 64u},
                                    {kChar, 1u, 1u},
                                    {kChar, 5u, 1u},
                                    {kBlock, 1u, 3u}}) {
    EXPECT_FALSE(allowed_in_container(spec, {type, kR, major, minor})) << major << ":" << minor;
    EXPECT_FALSE(allowed_in_container(spec, {type, kW, major, minor})) << major << ":" << minor;
  }
  // mknod of any node stays allowed, as in runc: opening what was made is what is refused.
  EXPECT_TRUE(allowed_in_container(spec, {kBlock, kM, 254u, 0u}));
  EXPECT_TRUE(allowed_in_container(spec, {kChar, kM, 1u, 11u}));
  // A spec without any device rules gets the same.
  EXPECT_FALSE(allowed(effective_device_rules(spec::ResourcesSpec{}), {kChar, kR, 1, 11}));
  EXPECT_TRUE(allowed(effective_device_rules(spec::ResourcesSpec{}), {kChar, kR | kW, 1, 3}));
}

TEST(DeviceFilter, TheLastMatchingRuleDecides) {
  auto kmsg = rule(true, spec::DeviceType::kChar, 1, 11, spec::kDeviceRead);
  EXPECT_TRUE(allowed({kDenyAll, kmsg}, {kChar, kR, 1, 11}));
  EXPECT_FALSE(allowed({kmsg, kDenyAll}, {kChar, kR, 1, 11}));
  // A deny after an allow-all takes just that device away.
  auto no_null = rule(false, spec::DeviceType::kChar, 1, 3, spec::kDeviceAllAccess);
  EXPECT_FALSE(allowed({kAllowAll, no_null}, {kChar, kR, 1, 3}));
  EXPECT_TRUE(allowed({kAllowAll, no_null}, {kChar, kR, 1, 5}));
  EXPECT_TRUE(allowed({kAllowAll, no_null}, {kBlock, kR, 1, 3}));
  // The defaults come last, so a spec cannot take them away (runc's behaviour).
  EXPECT_TRUE(allowed_in_container({no_null}, {kChar, kR, 1, 3}));
}

TEST(DeviceFilter, AnAllowRuleMustGrantEveryAccessRequested) {
  auto read_only = rule(true, spec::DeviceType::kChar, 1, 11, spec::kDeviceRead);
  EXPECT_TRUE(allowed({read_only}, {kChar, kR, 1, 11}));
  EXPECT_FALSE(allowed({read_only}, {kChar, kW, 1, 11}));
  EXPECT_FALSE(allowed({read_only}, {kChar, kR | kW, 1, 11}));
  EXPECT_FALSE(allowed({read_only}, {kChar, kM, 1, 11}));
  auto read_write =
      rule(true, spec::DeviceType::kChar, 1, 11, spec::kDeviceRead | spec::kDeviceWrite);
  EXPECT_TRUE(allowed({read_write}, {kChar, kR | kW, 1, 11}));
}

TEST(DeviceFilter, ADenyRuleRefusesAnyAccessItNames) {
  auto no_write = rule(false, spec::DeviceType::kChar, 1, 3, spec::kDeviceWrite);
  EXPECT_TRUE(allowed({kAllowAll, no_write}, {kChar, kR, 1, 3}));
  EXPECT_FALSE(allowed({kAllowAll, no_write}, {kChar, kW, 1, 3}));
  // Read and write at once: the write part is refused, so the open is.
  EXPECT_FALSE(allowed({kAllowAll, no_write}, {kChar, kR | kW, 1, 3}));
}

TEST(DeviceFilter, TypesAndWildcardNumbers) {
  auto any_char_major_1 = rule(true, spec::DeviceType::kChar, 1, {}, spec::kDeviceAllAccess);
  EXPECT_TRUE(allowed({any_char_major_1}, {kChar, kR, 1, 255}));
  EXPECT_FALSE(allowed({any_char_major_1}, {kBlock, kR, 1, 255}));
  EXPECT_FALSE(allowed({any_char_major_1}, {kChar, kR, 2, 255}));
  auto minor_only = rule(true, spec::DeviceType::kBlock, {}, 7, spec::kDeviceAllAccess);
  EXPECT_TRUE(allowed({minor_only}, {kBlock, kW, 99, 7}));
  EXPECT_FALSE(allowed({minor_only}, {kBlock, kW, 99, 8}));
  // Type 'a' covers both kinds, with the numbers it names.
  auto all_1_3 = rule(false, spec::DeviceType::kAll, 1, 3, spec::kDeviceAllAccess);
  EXPECT_FALSE(allowed({kAllowAll, all_1_3}, {kChar, kR, 1, 3}));
  EXPECT_FALSE(allowed({kAllowAll, all_1_3}, {kBlock, kR, 1, 3}));
  EXPECT_TRUE(allowed({kAllowAll, all_1_3}, {kBlock, kR, 1, 4}));
  // Numbers above 2^31 compare as unsigned 32-bit values.
  auto big = rule(true, spec::DeviceType::kChar, 0xfffffff0u, 0x80000000u, spec::kDeviceAllAccess);
  EXPECT_TRUE(allowed({big}, {kChar, kR, 0xfffffff0u, 0x80000000u}));
  EXPECT_FALSE(allowed({big}, {kChar, kR, 0xfffffff0u, 0}));
}

TEST(DeviceFilter, ARuleMatchingEverythingEndsTheProgram) {
  // Rules before an unconditional one can never decide: no code for them (the verifier refuses
  // unreachable instructions), and no default-deny tail after it.
  auto kmsg = rule(true, spec::DeviceType::kChar, 1, 11, spec::kDeviceAllAccess);
  auto program = device_filter_program(std::vector{kmsg, kmsg, kAllowAll});
  EXPECT_EQ(program.size(), 6u + 2u);  // prologue, then r0 = 1; exit
  EXPECT_TRUE(allowed({kmsg, kDenyAll}, {kChar, kM, 1, 1}) == false);
  EXPECT_TRUE(allowed({kDenyAll, kAllowAll}, {kBlock, kR, 8, 0}));
}

TEST(DeviceFilter, TooManyRulesAreRefusedBeforeTheKernelSeesThem) {
  std::vector<spec::DeviceRuleSpec> rules(
      1000, rule(true, spec::DeviceType::kChar, 1, 2, spec::kDeviceRead));
  try {
    device_filter_program(rules);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "linux.resources.devices: 1000 rules need more than 4096 BPF instructions");
  }
}

}  // namespace
}  // namespace kvrun::agent
