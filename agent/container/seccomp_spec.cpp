#include "agent/container/seccomp_spec.h"

#include <array>
#include <string_view>

#include "agent/container/spec_reader.h"
#include "common/error.h"
#include "protocol/json_reader.h"

namespace kvrun::agent {

using protocol::element_path;
using protocol::JsonReader;

namespace {

constexpr std::array<std::string_view, 8> kSeccompActions = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",        "SCMP_ACT_ALLOW",       "SCMP_ACT_LOG"};
constexpr std::array<std::string_view, 7> kSeccompOps = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",       "SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};

template <typename Array>
bool contains(const Array& names, std::string_view name) {
  for (auto n : names) {
    if (n == name) return true;
  }
  return false;
}

std::uint32_t parse_errno_ret(JsonReader& r) {
  return static_cast<std::uint32_t>(r.unsigned_integer("errnoRet", 4095));
}

}  // namespace

SeccompSpec parse_seccomp(const nlohmann::json& json, const std::string& path) {
  JsonReader r(json, path);
  SeccompSpec seccomp;
  seccomp.default_action = r.string("defaultAction");
  if (!contains(kSeccompActions, seccomp.default_action)) {
    throw Error(r.path_of("defaultAction") + ": unknown action \"" + seccomp.default_action + "\"");
  }
  if (r.has("defaultErrnoRet")) {
    seccomp.default_errno_ret =
        static_cast<std::uint32_t>(r.unsigned_integer("defaultErrnoRet", 4095));
  }
  seccomp.architectures =
      r.optional_string_array("architectures").value_or(std::vector<std::string>{});
  if (const auto* rules = r.optional_array("syscalls")) {
    for (std::size_t i = 0; i < rules->size(); ++i) {
      SeccompRuleSpec rule;
      rule.path = element_path(r.path_of("syscalls"), i);
      JsonReader rr((*rules)[i], rule.path);
      rule.names = rr.string_array("names");
      if (rule.names.empty()) throw Error(rr.path_of("names") + ": must not be empty");
      rule.action = rr.string("action");
      if (!contains(kSeccompActions, rule.action)) {
        throw Error(rr.path_of("action") + ": unknown action \"" + rule.action + "\"");
      }
      if (rr.has("errnoRet")) rule.errno_ret = parse_errno_ret(rr);
      if (const auto* args = rr.optional_array("args")) {
        for (std::size_t j = 0; j < args->size(); ++j) {
          JsonReader ar((*args)[j], element_path(rr.path_of("args"), j));
          SeccompArgSpec arg;
          arg.index = static_cast<unsigned>(ar.unsigned_integer("index", 5));
          arg.value = ar.unsigned_integer("value");
          arg.value_two = ar.optional_unsigned("valueTwo").value_or(0);
          arg.op = ar.string("op");
          if (!contains(kSeccompOps, arg.op)) {
            throw Error(ar.path_of("op") + ": unknown operator \"" + arg.op + "\"");
          }
          ignore_unknown(ar);
          rule.args.push_back(arg);
        }
      }
      ignore_unknown(rr);
      seccomp.syscalls.push_back(std::move(rule));
    }
  }
  ignore_unknown(r);
  return seccomp;
}

}  // namespace kvrun::agent
