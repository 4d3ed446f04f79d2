// linux.seccomp decoding (every field of runtime-spec 1.1) and compilation with libseccomp;
// the filters' effects on real processes are in tests/agent/root/seccomp_test.cpp.
#include <gtest/gtest.h>

#include "agent/container/seccomp.h"
#include "common/error.h"
#include "spec/seccomp.h"

namespace kvrun::agent {
namespace {

const std::string kPath = "config.linux.seccomp";

std::string parse_error(const nlohmann::json& json) {
  try {
    spec::parse_seccomp(json, kPath);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

std::string compile_error(const nlohmann::json& json) {
  try {
    (void)SeccompFilter::compile(spec::parse_seccomp(json, kPath).value());
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

// Docker's, podman's and containerd's default profiles allow personality for these values only.
nlohmann::json personality_rule() {
  nlohmann::json args = nlohmann::json::array();
  for (std::uint64_t value : {0x0ull, 0x8ull, 0x20008ull, 0xffffffffull}) {
    args.push_back({{"index", 0}, {"value", value}, {"op", "SCMP_CMP_EQ"}});
  }
  return {{"names", {"personality"}}, {"action", "SCMP_ACT_ALLOW"}, {"args", args}};
}

TEST(SeccompSpec, DecodesEveryField) {
  nlohmann::json json = {
      {"defaultAction", "SCMP_ACT_ERRNO"},
      {"defaultErrnoRet", 38},
      {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
      {"flags", {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}},
      {"listenerPath", "/run/agent.sock"},
      {"listenerMetadata", "meta"},
      {"syscalls",
       {{{"names", {"clone"}},
         {"action", "SCMP_ACT_ALLOW"},
         {"args",
          {{{"index", 0}, {"value", 2114060288}, {"valueTwo", 0}, {"op", "SCMP_CMP_MASKED_EQ"}}}}},
        {{"names", {"mkdir", "rmdir"}}, {"action", "SCMP_ACT_TRACE"}, {"errnoRet", 5}}}}};
  auto spec = spec::parse_seccomp(json, kPath).value();
  EXPECT_EQ(spec.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(spec.default_errno_ret, 38u);
  EXPECT_EQ(spec.architectures.size(), 3u);
  ASSERT_TRUE(spec.flags);
  EXPECT_EQ(*spec.flags, (std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG",
                                                   "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}));
  EXPECT_EQ(spec.listener_path, "/run/agent.sock");
  EXPECT_EQ(spec.listener_metadata, "meta");
  ASSERT_EQ(spec.syscalls.size(), 2u);
  const auto& clone = spec.syscalls[0];
  EXPECT_EQ(clone.path, kPath + ".syscalls[0]");
  ASSERT_EQ(clone.args.size(), 1u);
  EXPECT_EQ(clone.args[0].index, 0u);
  EXPECT_EQ(clone.args[0].value, 2114060288u);
  EXPECT_EQ(clone.args[0].value_two, 0u);
  EXPECT_EQ(clone.args[0].op, "SCMP_CMP_MASKED_EQ");
  EXPECT_FALSE(clone.errno_ret);
  EXPECT_EQ(spec.syscalls[1].names, (std::vector<std::string>{"mkdir", "rmdir"}));
  EXPECT_EQ(spec.syscalls[1].action, "SCMP_ACT_TRACE");
  EXPECT_EQ(spec.syscalls[1].errno_ret, 5u);
  EXPECT_EQ(compile_error(json), "");
}

// Absent flags and [] differ (runc sets SPEC_ALLOW for the first only).
TEST(SeccompSpec, AbsentFlagsAreNotAnEmptyList) {
  EXPECT_FALSE(spec::parse_seccomp({{"defaultAction", "SCMP_ACT_ALLOW"}}, kPath)->flags);
  auto spec = spec::parse_seccomp(
      {{"defaultAction", "SCMP_ACT_ALLOW"}, {"flags", nlohmann::json::array()}}, kPath);
  ASSERT_TRUE(spec && spec->flags);
  EXPECT_TRUE(spec->flags->empty());
}

// runc's reading of what the runtime-spec calls invalid: neither defaultAction nor rules is
// no filter, and a rule without names a rule for nothing. A rule without a default is not.
TEST(SeccompSpec, WhatRuncAcceptsBeyondTheSpec) {
  EXPECT_FALSE(spec::parse_seccomp(nlohmann::json::object(), kPath));
  EXPECT_FALSE(
      spec::parse_seccomp({{"defaultAction", ""}, {"syscalls", nlohmann::json::array()}}, kPath));
  EXPECT_EQ(compile_error({{"defaultAction", "SCMP_ACT_ALLOW"},
                           {"syscalls",
                            {{{"names", nlohmann::json::array()}, {"action", "SCMP_ACT_ERRNO"}}}}}),
            "");
  EXPECT_EQ(parse_error({{"syscalls", {{{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}}}}}),
            "config.linux.seccomp.defaultAction: required field is missing");
}

TEST(SeccompSpec, EveryActionAndOperatorCompiles) {
  nlohmann::json rules = nlohmann::json::array();
  int value = 1;
  for (const char* action : {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                             "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_LOG"}) {
    for (const char* op : {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
                           "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"}) {
      rules.push_back({{"names", {"personality"}},
                       {"action", action},
                       {"args", {{{"index", 0}, {"value", value++}, {"op", op}}}}});
    }
  }
  // Conditions on two arguments: one rule, both must hold.
  rules.push_back({{"names", {"kill"}},
                   {"action", "SCMP_ACT_ERRNO"},
                   {"args",
                    {{{"index", 0}, {"value", 1}, {"op", "SCMP_CMP_EQ"}},
                     {{"index", 1}, {"value", 9}, {"op", "SCMP_CMP_EQ"}}}}});
  EXPECT_EQ(compile_error({{"defaultAction", "SCMP_ACT_ALLOW"},
                           {"flags", {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"}},
                           {"syscalls", rules}}),
            "");
}

// libseccomp refuses two comparisons of one argument in one rule ("Invalid argument"); runc
// makes each its own rule, and so must we, or Docker's default profile cannot be used.
TEST(SeccompSpec, SeveralConditionsOnOneArgumentCompile) {
  EXPECT_EQ(
      compile_error({{"defaultAction", "SCMP_ACT_ERRNO"}, {"syscalls", {personality_rule()}}}), "");
}

// runc skips a rule whose action is the default one (libseccomp would refuse it).
TEST(SeccompSpec, RuleWithTheDefaultActionIsSkipped) {
  EXPECT_EQ(compile_error({{"defaultAction", "SCMP_ACT_ERRNO"},
                           {"syscalls", {{{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}}}}}),
            "");
  // Another errno is another action.
  EXPECT_EQ(
      compile_error(
          {{"defaultAction", "SCMP_ACT_ERRNO"},
           {"syscalls", {{{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 2}}}}}),
      "");
}

TEST(SeccompSpec, NotifyIsRefusedWithTheReason) {
  nlohmann::json json = {{"defaultAction", "SCMP_ACT_ALLOW"},
                         {"listenerPath", "/run/agent.sock"},
                         {"syscalls", {{{"names", {"mkdir"}}, {"action", "SCMP_ACT_NOTIFY"}}}}};
  EXPECT_EQ(parse_error(json),
            "config.linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY is not supported: a VM "
            "guest cannot hand the notification fd to a seccomp agent on the host at "
            "listenerPath /run/agent.sock");
  json.erase("listenerPath");
  EXPECT_EQ(parse_error(json),
            "config.linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY is not supported: a VM "
            "guest cannot hand the notification fd to a seccomp agent on the host (and "
            "listenerPath, which runc requires, is not set)");
  EXPECT_NE(parse_error({{"defaultAction", "SCMP_ACT_NOTIFY"}})
                .find("config.linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported"),
            std::string::npos);
}

TEST(SeccompSpec, HostileValuesAreNamed) {
  EXPECT_EQ(
      parse_error({{"defaultAction", "SCMP_ACT_ALLOW"}, {"flags", {"SECCOMP_FILTER_FLAG_X"}}}),
      "config.linux.seccomp.flags[0]: unknown seccomp flag \"SECCOMP_FILTER_FLAG_X\"");
  EXPECT_EQ(parse_error({{"defaultAction", "SCMP_ACT_ERRNO"}, {"defaultErrnoRet", 4096}}),
            "config.linux.seccomp.defaultErrnoRet: expected an integer in [0, 4095]");
  nlohmann::json json = {{"defaultAction", "SCMP_ACT_ALLOW"},
                         {"syscalls",
                          {{{"names", {"kill"}},
                            {"action", "SCMP_ACT_ERRNO"},
                            {"args", {{{"index", 6}, {"value", 1}, {"op", "SCMP_CMP_EQ"}}}}}}}};
  EXPECT_EQ(parse_error(json),
            "config.linux.seccomp.syscalls[0].args[0].index: expected an integer in [0, 5]");
  json["syscalls"][0]["args"][0] = {{"index", 0}, {"value", 1}, {"op", "SCMP_CMP_ABOUT"}};
  EXPECT_EQ(parse_error(json),
            "config.linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_ABOUT\"");
  EXPECT_EQ(
      compile_error({{"defaultAction", "SCMP_ACT_ALLOW"}, {"architectures", {"SCMP_ARCH_Z80"}}}),
      "unknown seccomp architecture SCMP_ARCH_Z80");
  // Unknown syscall names are skipped, as in runc: profiles list every architecture's.
  EXPECT_EQ(
      compile_error({{"defaultAction", "SCMP_ACT_ALLOW"},
                     {"syscalls", {{{"names", {"no_such_call"}}, {"action", "SCMP_ACT_LOG"}}}}}),
      "");
}

}  // namespace
}  // namespace kvrun::agent
