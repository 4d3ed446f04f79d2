#include "shim/state/container_state.h"

#include <ctime>

#include "common/error.h"

namespace kvrun::state {
namespace {

Status status_from(std::string_view name) {
  for (Status status :
       {Status::kCreating, Status::kCreated, Status::kRunning, Status::kPaused, Status::kStopped}) {
    if (to_string(status) == name) return status;
  }
  throw Error("state.json: status: unknown value \"" + std::string(name) + "\"");
}

template <typename T>
T field(const nlohmann::json& json, const char* key) {
  auto it = json.find(key);
  if (it == json.end()) throw Error(std::string("state.json: ") + key + ": missing");
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(std::string("state.json: ") + key + ": wrong type");
  }
}

// A string field read by parse, whose error is prefixed with the field.
template <typename Parse>
auto parsed(const nlohmann::json& json, const char* key, Parse parse) {
  auto text = field<std::string>(json, key);
  try {
    return parse(text);
  } catch (const Error& e) {
    throw Error(std::string("state.json: ") + key + ": " + e.what());
  }
}

}  // namespace

std::string_view to_string(Status status) {
  switch (status) {
    case Status::kCreating:
      return "creating";
    case Status::kCreated:
      return "created";
    case Status::kRunning:
      return "running";
    case Status::kPaused:
      return "paused";
    case Status::kStopped:
      return "stopped";
  }
  return "unknown";
}

nlohmann::json to_json(const ContainerState& state) {
  nlohmann::json json = {
      {"id", state.id},
      {"bundle", state.bundle.string()},
      {"rootfs", state.rootfs.string()},
      {"status", to_string(state.status)},
      {"pid", state.pid},
      {"pid_start_time", state.pid_start_time},
      {"vmm_pid", state.vmm_pid},
      {"created", state.created},
      {"annotations", state.annotations},
      {"sandbox", shim::to_string(state.sandbox)},
      {"agent_address", state.agent_address},
      {"rootfs_image", state.rootfs_image.string()},
      {"pod_role", shim::to_string(state.pod_role)},
      {"pod_sandbox", state.pod_sandbox},
      {"control_socket", state.control_socket.string()},
      {"disk_slot", state.disk_slot},
  };
  if (state.exit_status) json["exit_status"] = *state.exit_status;
  return json;
}

ContainerState from_json(const nlohmann::json& json) {
  if (!json.is_object()) throw Error("state.json: not a JSON object");
  ContainerState state;
  state.id = field<std::string>(json, "id");
  state.bundle = field<std::string>(json, "bundle");
  state.rootfs = field<std::string>(json, "rootfs");
  state.status = status_from(field<std::string>(json, "status"));
  state.pid = field<pid_t>(json, "pid");
  state.pid_start_time = field<std::uint64_t>(json, "pid_start_time");
  state.vmm_pid = field<pid_t>(json, "vmm_pid");
  state.created = field<std::string>(json, "created");
  state.annotations = field<std::map<std::string, std::string>>(json, "annotations");
  state.sandbox = parsed(json, "sandbox", shim::parse_sandbox_kind);
  state.agent_address = field<std::string>(json, "agent_address");
  state.rootfs_image = field<std::string>(json, "rootfs_image");
  state.pod_role = parsed(json, "pod_role", shim::parse_pod_role);
  state.pod_sandbox = field<std::string>(json, "pod_sandbox");
  state.control_socket = field<std::string>(json, "control_socket");
  state.disk_slot = field<int>(json, "disk_slot");
  if (json.contains("exit_status")) state.exit_status = field<int>(json, "exit_status");
  return state;
}

nlohmann::json oci_state(const ContainerState& state) {
  // A container still booting is "creating" in the runtime spec as well; a stopped one has no pid.
  nlohmann::json json = {
      {"ociVersion", "1.0.2"},
      {"id", state.id},
      {"status", to_string(state.status)},
      {"pid", state.status == Status::kStopped ? 0 : state.pid},
      {"bundle", state.bundle.string()},
      {"rootfs", state.rootfs.string()},
      {"created", state.created},
      {"owner", ""},
  };
  if (!state.annotations.empty()) json["annotations"] = state.annotations;
  return json;
}

std::string now_rfc3339() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  std::tm utc{};
  ::gmtime_r(&now.tv_sec, &utc);
  char text[64];
  std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%09ldZ", now.tv_nsec);
  return text;
}

}  // namespace kvrun::state
