#include "spec/seccomp.h"

#include <spdlog/spdlog.h>

#include <array>
#include <string_view>

#include "common/error.h"
#include "protocol/json_reader.h"
#include "spec/reader.h"

namespace kvrun::spec {

using protocol::element_path;
using protocol::JsonReader;

namespace {

constexpr std::array<std::string_view, 9> kSeccompActions = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY"};
// runc's list; it refuses any other flag, and so do we.
constexpr std::array<std::string_view, 3> kSeccompFlags = {
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
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

std::string parse_action(JsonReader& r, std::string_view key, const std::string& listener_path) {
  std::string action = r.string(key);
  if (!contains(kSeccompActions, action)) {
    throw Error(r.path_of(key) + ": unknown action \"" + action + "\"");
  }
  if (action == "SCMP_ACT_NOTIFY") {
    // The notification fd would have to reach a seccomp agent listening on the host, and a
    // guest can pass no fd across the VM boundary. runc also needs listenerPath for it.
    throw Error(r.path_of(key) +
                ": SCMP_ACT_NOTIFY is not supported: a VM guest cannot hand the notification fd "
                "to a seccomp agent on the host" +
                (listener_path.empty() ? " (and listenerPath, which runc requires, is not set)"
                                       : " at listenerPath " + listener_path));
  }
  return action;
}

}  // namespace

std::optional<SeccompSpec> parse_seccomp(const nlohmann::json& json, const std::string& path) {
  JsonReader r(json, path);
  const auto* rules = r.optional_array("syscalls");
  if (r.optional_string("defaultAction").value_or("").empty() && (!rules || rules->empty())) {
    spdlog::debug("{}: no defaultAction and no syscalls: no filter, as in runc", path);
    return std::nullopt;
  }
  SeccompSpec seccomp;
  seccomp.listener_path = r.optional_string("listenerPath").value_or("");
  seccomp.listener_metadata = r.optional_string("listenerMetadata").value_or("");
  seccomp.default_action = parse_action(r, "defaultAction", seccomp.listener_path);
  if (r.has("defaultErrnoRet")) {
    seccomp.default_errno_ret =
        static_cast<std::uint32_t>(r.unsigned_integer("defaultErrnoRet", 4095));
  }
  seccomp.architectures =
      r.optional_string_array("architectures").value_or(std::vector<std::string>{});
  seccomp.flags = r.optional_string_array("flags");
  if (seccomp.flags) {
    for (std::size_t i = 0; i < seccomp.flags->size(); ++i) {
      const auto& flag = (*seccomp.flags)[i];
      if (!contains(kSeccompFlags, flag)) {
        throw Error(element_path(r.path_of("flags"), i) + ": unknown seccomp flag \"" + flag +
                    "\"");
      }
    }
  }
  if (rules != nullptr) {
    for (std::size_t i = 0; i < rules->size(); ++i) {
      SeccompRuleSpec rule;
      rule.path = element_path(r.path_of("syscalls"), i);
      JsonReader rr((*rules)[i], rule.path);
      rule.names = rr.string_array("names");
      // The runtime-spec wants one name at least; runc takes none as a rule for nothing.
      if (rule.names.empty()) spdlog::debug("{}: no names, a rule for no syscall", rr.path());
      rule.action = parse_action(rr, "action", seccomp.listener_path);
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

}  // namespace kvrun::spec
