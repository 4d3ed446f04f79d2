#include "shim/containerd/bundle_spec.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace kvrun::containerd {

namespace {

// Whether an allow rule names exactly one node of linux.devices (same type and numbers): the
// node is made in the guest (the agent's device_nodes.h) and needs its rule to open. Wildcard
// rules stay dropped.
bool names_a_listed_node(const nlohmann::json& rule, const nlohmann::json& linux) {
  if (!linux.contains("devices") || !linux["devices"].is_array()) return false;
  auto type = rule.find("type");
  auto major = rule.find("major");
  auto minor = rule.find("minor");
  if (type == rule.end() || major == rule.end() || minor == rule.end()) return false;
  if (!type->is_string() || !major->is_number_integer() || !minor->is_number_integer())
    return false;
  for (const auto& node : linux["devices"]) {
    if (!node.is_object()) continue;
    std::string node_type = node.value("type", "");
    if (node_type == "u") node_type = "c";
    if (node_type != *type || !node.contains("major") || !node.contains("minor")) continue;
    if (node["major"] == *major && node["minor"] == *minor) return true;
  }
  return false;
}

}  // namespace

bool drop_host_device_rules(nlohmann::json& spec) {
  if (!spec.is_object() || !spec.contains("linux") || !spec["linux"].is_object()) return false;
  auto& linux = spec["linux"];
  if (!linux.contains("resources") || !linux["resources"].is_object()) return false;
  auto& resources = linux["resources"];
  if (!resources.contains("devices") || !resources["devices"].is_array()) return false;
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& rule : resources["devices"]) {
    if (!rule.is_object()) continue;
    if (rule.value("allow", true) == false || names_a_listed_node(rule, linux)) {
      kept.push_back(rule);
    }
  }
  if (kept.size() == resources["devices"].size()) return false;
  resources["devices"] = kept;
  return true;
}

void adjust_bundle_spec(const std::filesystem::path& bundle) {
  std::filesystem::path path = bundle / "config.json";
  std::ifstream in(path);
  if (!in) throw Error(path.string() + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  auto spec = nlohmann::json::parse(text.str(), nullptr, false);
  if (spec.is_discarded()) throw Error(path.string() + ": not JSON");
  if (!drop_host_device_rules(spec)) return;
  std::filesystem::path temp = bundle / ".config.json.kvrun";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << spec.dump();
    if (!out.flush()) throw Error("cannot write " + temp.string());
  }
  if (std::rename(temp.c_str(), path.c_str()) < 0) throw_errno("rename " + temp.string());
}

}  // namespace kvrun::containerd
