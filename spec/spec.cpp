#include "spec/spec.h"

#include <sys/resource.h>

#include <array>
#include <utility>

#include "common/error.h"
#include "protocol/json_reader.h"
#include "spec/attributes.h"
#include "spec/capability_names.h"
#include "spec/hooks.h"
#include "spec/mount_options.h"
#include "spec/reader.h"
#include "spec/seccomp.h"

namespace kvrun::spec {
namespace {

using protocol::element_path;
using protocol::expect_string;
using protocol::expect_unsigned;
using protocol::JsonReader;

constexpr std::array kNamespaces = {
    std::pair<std::string_view, NamespaceType>{"pid", NamespaceType::kPid},
    std::pair<std::string_view, NamespaceType>{"network", NamespaceType::kNetwork},
    std::pair<std::string_view, NamespaceType>{"mount", NamespaceType::kMount},
    std::pair<std::string_view, NamespaceType>{"ipc", NamespaceType::kIpc},
    std::pair<std::string_view, NamespaceType>{"uts", NamespaceType::kUts},
    std::pair<std::string_view, NamespaceType>{"user", NamespaceType::kUser},
    std::pair<std::string_view, NamespaceType>{"cgroup", NamespaceType::kCgroup},
    std::pair<std::string_view, NamespaceType>{"time", NamespaceType::kTime},
};

#define KVRUN_RLIMIT(name) \
  std::pair<std::string_view, int> { #name, name }
constexpr std::array kRlimits = {
    KVRUN_RLIMIT(RLIMIT_AS),      KVRUN_RLIMIT(RLIMIT_CORE),     KVRUN_RLIMIT(RLIMIT_CPU),
    KVRUN_RLIMIT(RLIMIT_DATA),    KVRUN_RLIMIT(RLIMIT_FSIZE),    KVRUN_RLIMIT(RLIMIT_LOCKS),
    KVRUN_RLIMIT(RLIMIT_MEMLOCK), KVRUN_RLIMIT(RLIMIT_MSGQUEUE), KVRUN_RLIMIT(RLIMIT_NICE),
    KVRUN_RLIMIT(RLIMIT_NOFILE),  KVRUN_RLIMIT(RLIMIT_NPROC),    KVRUN_RLIMIT(RLIMIT_RSS),
    KVRUN_RLIMIT(RLIMIT_RTPRIO),  KVRUN_RLIMIT(RLIMIT_RTTIME),   KVRUN_RLIMIT(RLIMIT_SIGPENDING),
    KVRUN_RLIMIT(RLIMIT_STACK),
};
#undef KVRUN_RLIMIT

template <typename Array>
bool contains(const Array& names, std::string_view name) {
  for (auto n : names) {
    if (n == name) return true;
  }
  return false;
}

std::string absolute_path(JsonReader& r, std::string_view key) {
  std::string value = r.string(key);
  if (value.empty() || value.front() != '/')
    throw Error(r.path_of(key) + ": must be an absolute path");
  return value;
}

std::vector<std::uint32_t> u32_array(const nlohmann::json& array, const std::string& path) {
  std::vector<std::uint32_t> out;
  for (std::size_t i = 0; i < array.size(); ++i) {
    out.push_back(
        static_cast<std::uint32_t>(expect_unsigned(array[i], element_path(path, i), UINT32_MAX)));
  }
  return out;
}

UserSpec parse_user(const nlohmann::json& json, const std::string& path) {
  JsonReader r(json, path);
  UserSpec user;
  user.uid = static_cast<std::uint32_t>(r.optional_unsigned("uid", UINT32_MAX).value_or(0));
  user.gid = static_cast<std::uint32_t>(r.optional_unsigned("gid", UINT32_MAX).value_or(0));
  if (const auto* gids = r.optional_array("additionalGids")) {
    user.additional_gids = u32_array(*gids, r.path_of("additionalGids"));
  }
  if (auto mask = r.optional_unsigned("umask", 0777))
    user.umask = static_cast<std::uint32_t>(*mask);
  // Windows-only in the runtime-spec; runc ignores it on Linux as well.
  if (auto name = r.optional_string("username"))
    spdlog::debug("{}: Windows only, ignored", r.path_of("username"));
  ignore_unknown(r);
  return user;
}

std::vector<int> capability_list(JsonReader& r, std::string_view key) {
  std::vector<int> caps;
  const auto* list = r.optional_array(key);
  if (list == nullptr) return caps;
  for (std::size_t i = 0; i < list->size(); ++i) {
    std::string path = element_path(r.path_of(key), i);
    std::string name = expect_string((*list)[i], path);
    auto cap = capability_from_name(name);
    if (!cap) throw Error(path + ": unknown capability \"" + name + "\"");
    caps.push_back(*cap);
  }
  return caps;
}

CapabilitySpec parse_capabilities(const nlohmann::json& json, const std::string& path) {
  JsonReader r(json, path);
  CapabilitySpec caps;
  caps.bounding = capability_list(r, "bounding");
  caps.effective = capability_list(r, "effective");
  caps.inheritable = capability_list(r, "inheritable");
  caps.permitted = capability_list(r, "permitted");
  caps.ambient = capability_list(r, "ambient");
  ignore_unknown(r);
  return caps;
}

RlimitSpec parse_rlimit(const nlohmann::json& json, const std::string& path) {
  JsonReader r(json, path);
  RlimitSpec limit;
  limit.name = r.string("type");
  bool known = false;
  for (const auto& [name, resource] : kRlimits) {
    if (name == limit.name) {
      limit.resource = resource;
      known = true;
    }
  }
  if (!known) throw Error(r.path_of("type") + ": unknown rlimit \"" + limit.name + "\"");
  limit.hard = r.unsigned_integer("hard");
  limit.soft = r.unsigned_integer("soft");
  if (limit.soft > limit.hard) throw Error(r.path_of("soft") + ": is larger than hard");
  ignore_unknown(r);
  return limit;
}

MountSpec parse_mount(const nlohmann::json& json, const std::string& path) {
  JsonReader r(json, path);
  MountSpec mount;
  mount.destination = absolute_path(r, "destination");
  mount.type = r.optional_string("type").value_or("");
  mount.source = r.optional_string("source").value_or("");
  mount.options = r.optional_string_array("options").value_or(std::vector<std::string>{});
  try {
    (void)parse_mount_options(mount.options);  // its one refusal, reported before any process
  } catch (const Error& e) {
    throw Error(r.path_of("options") + ": " + e.what());
  }
  // runtime-spec 1.1's idmapped mounts: ignoring them would give the files other owners.
  for (const char* key : {"uidMappings", "gidMappings"}) {
    if (r.has(key)) throw Error(r.path_of(key) + ": idmapped mounts are not supported");
  }
  ignore_unknown(r);
  return mount;
}

std::vector<IdMapping> parse_id_mappings(const nlohmann::json& list, const std::string& path) {
  std::vector<IdMapping> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    JsonReader r(list[i], element_path(path, i));
    IdMapping m;
    m.container_id = static_cast<std::uint32_t>(r.unsigned_integer("containerID", UINT32_MAX));
    m.host_id = static_cast<std::uint32_t>(r.unsigned_integer("hostID", UINT32_MAX));
    m.size = static_cast<std::uint32_t>(r.unsigned_integer("size", UINT32_MAX));
    if (m.size == 0) throw Error(r.path_of("size") + ": must be at least 1");
    ignore_unknown(r);
    out.push_back(m);
  }
  return out;
}

LinuxSpec parse_linux(const nlohmann::json& json, const std::string& path) {
  JsonReader r(json, path);
  LinuxSpec linux_spec;
  if (const auto* list = r.optional_array("namespaces")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      JsonReader n((*list)[i], element_path(r.path_of("namespaces"), i));
      std::string type = n.string("type");
      bool known = false;
      for (const auto& [name, value] : kNamespaces) {
        if (name != type) continue;
        known = true;
        if (linux_spec.has(value))
          throw Error(n.path_of("type") + ": namespace \"" + type + "\" listed twice");
        linux_spec.namespaces.push_back(value);
      }
      if (!known) throw Error(n.path_of("type") + ": unknown namespace type \"" + type + "\"");
      if (auto path = n.optional_string("path")) {
        if (path->empty() || path->front() != '/') {
          throw Error(n.path_of("path") + ": must be an absolute path");
        }
        // Namespaces created alongside would be owned by the agent's user namespace instead.
        if (type == "user") {
          throw Error(n.path_of("path") + ": joining a user namespace is not supported yet");
        }
        linux_spec.namespace_paths.emplace(linux_spec.namespaces.back(), *path);
      }
      ignore_unknown(n);
    }
  }
  if (const auto* maps = r.optional_array("uidMappings")) {
    linux_spec.uid_mappings = parse_id_mappings(*maps, r.path_of("uidMappings"));
  }
  if (const auto* maps = r.optional_array("gidMappings")) {
    linux_spec.gid_mappings = parse_id_mappings(*maps, r.path_of("gidMappings"));
  }
  linux_spec.masked_paths =
      r.optional_string_array("maskedPaths").value_or(std::vector<std::string>{});
  linux_spec.readonly_paths =
      r.optional_string_array("readonlyPaths").value_or(std::vector<std::string>{});
  if (const auto* sysctl = r.optional_object("sysctl")) {
    for (const auto& [key, value] : sysctl->items()) {
      std::string field = r.path_of("sysctl") + "." + key;
      if (key.empty() || key.find('/') != std::string::npos ||
          key.find("..") != std::string::npos) {
        throw Error(field + ": is not a valid sysctl name");
      }
      linux_spec.sysctl.emplace(key, expect_string(value, field));
    }
  }
  if (const auto* seccomp = r.optional_object("seccomp")) {
    linux_spec.seccomp = parse_seccomp(*seccomp, r.path_of("seccomp"));
  }
  if (const auto* resources = r.optional_object("resources")) {
    linux_spec.resources = parse_resources(*resources, r.path_of("resources"));
  }
  if (auto propagation = r.optional_string("rootfsPropagation")) {
    static constexpr std::array<std::string_view, 6> kAllowed = {"private", "rprivate", "slave",
                                                                 "rslave",  "shared",   "rshared"};
    if (!contains(kAllowed, *propagation)) {
      throw Error(r.path_of("rootfsPropagation") + ": unknown propagation \"" + *propagation +
                  "\"");
    }
    linux_spec.rootfs_propagation = *propagation;
  }
  // cgroupsPath is accepted for compatibility; the agent places containers itself.
  r.optional_string("cgroupsPath");
  if (const auto* personality = r.optional_object("personality"))
    linux_spec.personality = parse_personality(*personality, r.path_of("personality"));
  if (const auto* offsets = r.optional_object("timeOffsets"))
    linux_spec.time_offsets = parse_time_offsets(*offsets, r.path_of("timeOffsets"));
  if (const auto* devices = r.optional_array("devices"))
    linux_spec.devices = parse_device_nodes(*devices, r.path_of("devices"));
  linux_spec.mount_label = r.optional_string("mountLabel").value_or("");
  // As runc without resctrl: the guest has no RDT, and a cache or bandwidth partition asked for
  // must not silently be missing.
  if (r.has("intelRdt")) {
    r.object("intelRdt");
    throw Error(r.path_of("intelRdt") + ": Intel RDT is not available in the sandbox");
  }
  ignore_unknown(r);

  if (!linux_spec.has(NamespaceType::kMount)) {
    // runc would run the container in its own mount namespace and root; the agent's are the
    // guest's (every pod member's disk, the agent's sockets), never a container's to share.
    throw Error(r.path_of("namespaces") +
                ": a mount namespace is required (without one the container would share the "
                "agent's mount namespace and root filesystem)");
  }
  // Offsets can be written only before a process enters the namespace: one the agent creates.
  if (r.has("timeOffsets") && (!linux_spec.has(NamespaceType::kTime) ||
                               linux_spec.namespace_paths.contains(NamespaceType::kTime))) {
    throw Error(r.path_of("timeOffsets") + ": needs a new time namespace");
  }
  bool user = linux_spec.has(NamespaceType::kUser);
  if (user && (linux_spec.uid_mappings.empty() || linux_spec.gid_mappings.empty())) {
    throw Error(r.path_of("uidMappings") + ": a user namespace needs uidMappings and gidMappings");
  }
  if (!user && (!linux_spec.uid_mappings.empty() || !linux_spec.gid_mappings.empty())) {
    throw Error(r.path_of("uidMappings") + ": mappings need a user namespace");
  }
  return linux_spec;
}

}  // namespace

bool LinuxSpec::has(NamespaceType type) const {
  for (auto t : namespaces) {
    if (t == type) return true;
  }
  return false;
}

std::string_view namespace_name(NamespaceType type) {
  for (const auto& [name, value] : kNamespaces) {
    if (value == type) return name;
  }
  return "?";
}

ProcessSpec parse_process_spec(const nlohmann::json& json, const std::string& path) {
  JsonReader r(json, path);
  ProcessSpec process;
  process.terminal = r.optional_boolean("terminal").value_or(false);
  if (const auto* size = r.optional_object("consoleSize")) {
    JsonReader console(*size, r.path_of("consoleSize"));
    process.console_rows = static_cast<unsigned short>(console.integer("height", 0, UINT16_MAX));
    process.console_cols = static_cast<unsigned short>(console.integer("width", 0, UINT16_MAX));
    ignore_unknown(console);
  }
  process.args = r.string_array("args");
  if (process.args.empty() || process.args.front().empty()) {
    throw Error(r.path_of("args") + ": needs at least the program to run");
  }
  process.env = r.optional_string_array("env").value_or(std::vector<std::string>{});
  for (std::size_t i = 0; i < process.env.size(); ++i) {
    if (process.env[i].find('=') == std::string::npos) {
      throw Error(element_path(r.path_of("env"), i) + ": expected NAME=VALUE");
    }
  }
  process.cwd = r.optional_string("cwd").value_or("/");
  if (process.cwd.empty() || process.cwd.front() != '/') {
    throw Error(r.path_of("cwd") + ": must be an absolute path");
  }
  if (const auto* user = r.optional_object("user"))
    process.user = parse_user(*user, r.path_of("user"));
  if (const auto* caps = r.optional_object("capabilities")) {
    process.capabilities = parse_capabilities(*caps, r.path_of("capabilities"));
  }
  process.no_new_privileges = r.optional_boolean("noNewPrivileges").value_or(false);
  if (const auto* limits = r.optional_array("rlimits")) {
    for (std::size_t i = 0; i < limits->size(); ++i) {
      process.rlimits.push_back(parse_rlimit((*limits)[i], element_path(r.path_of("rlimits"), i)));
    }
  }
  if (auto adj = r.optional_integer("oomScoreAdj", -1000, 1000))
    process.oom_score_adj = static_cast<int>(*adj);
  if (const auto* io = r.optional_object("ioPriority"))
    process.io_priority = parse_io_priority(*io, r.path_of("ioPriority"));
  if (const auto* scheduler = r.optional_object("scheduler"))
    process.scheduler = parse_scheduler(*scheduler, r.path_of("scheduler"));
  process.apparmor_profile = r.optional_string("apparmorProfile").value_or("");
  process.selinux_label = r.optional_string("selinuxLabel").value_or("");
  ignore_unknown(r);
  return process;
}

ContainerSpec parse_container_spec(const nlohmann::json& config) {
  JsonReader r(config, "config");
  ContainerSpec spec;
  r.optional_string("ociVersion");
  if (const auto* annotations = r.optional_object("annotations")) {
    for (const auto& [key, value] : annotations->items()) {
      spec.annotations[key] = expect_string(value, r.path_of("annotations") + "." + key);
    }
  }
  spec.process = parse_process_spec(r.object("process"), r.path_of("process"));
  JsonReader root(r.object("root"), r.path_of("root"));
  spec.root_path = root.string("path");
  if (spec.root_path.empty()) throw Error(root.path_of("path") + ": must not be empty");
  spec.root_readonly = root.optional_boolean("readonly").value_or(false);
  ignore_unknown(root);
  spec.hostname = r.optional_string("hostname").value_or("");
  spec.domainname = r.optional_string("domainname").value_or("");
  // setdomainname's limit (__NEW_UTS_LEN).
  if (spec.domainname.size() > 64) throw Error(r.path_of("domainname") + ": longer than 64 bytes");
  if (const auto* mounts = r.optional_array("mounts")) {
    for (std::size_t i = 0; i < mounts->size(); ++i) {
      spec.mounts.push_back(parse_mount((*mounts)[i], element_path(r.path_of("mounts"), i)));
    }
  }
  spec.linux_spec = parse_linux(r.object("linux"), r.path_of("linux"));
  if (const auto* hooks = r.optional_object("hooks"))
    spec.start_container_hooks = parse_start_container_hooks(*hooks, r.path_of("hooks"));
  ignore_unknown(r);
  if (!spec.hostname.empty() && !spec.linux_spec.has(NamespaceType::kUts)) {
    throw Error(r.path_of("hostname") + ": setting a hostname needs a uts namespace");
  }
  if (!spec.domainname.empty() && !spec.linux_spec.has(NamespaceType::kUts)) {
    throw Error(r.path_of("domainname") + ": setting a domainname needs a uts namespace");
  }
  return spec;
}

}  // namespace kvrun::spec
