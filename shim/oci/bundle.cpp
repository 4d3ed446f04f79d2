#include "shim/oci/bundle.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "common/error.h"

namespace kvrun::oci {
namespace {

[[noreturn]] void fail(const std::string& field, const std::string& problem) {
  throw Error("config.json: " + field + ": " + problem);
}

std::string join(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

// JSON null counts as absent, as with the OCI spec's Go decoder.
const nlohmann::json* find(const nlohmann::json& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

const nlohmann::json& require_object(const nlohmann::json& parent, std::string_view key,
                                     const std::string& path) {
  const nlohmann::json* value = find(parent, key);
  if (value == nullptr) fail(join(path, key), "required field is missing");
  if (!value->is_object()) fail(join(path, key), "must be an object");
  return *value;
}

const nlohmann::json* optional_object(const nlohmann::json& parent, std::string_view key,
                                      const std::string& path) {
  const nlohmann::json* value = find(parent, key);
  if (value != nullptr && !value->is_object()) fail(join(path, key), "must be an object");
  return value;
}

std::optional<std::string> optional_string(const nlohmann::json& parent, std::string_view key,
                                           const std::string& path) {
  const nlohmann::json* value = find(parent, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) fail(join(path, key), "must be a string");
  return value->get<std::string>();
}

std::string required_string(const nlohmann::json& parent, std::string_view key,
                            const std::string& path) {
  auto value = optional_string(parent, key, path);
  if (!value) fail(join(path, key), "required field is missing");
  return *value;
}

bool optional_bool(const nlohmann::json& parent, std::string_view key, const std::string& path) {
  const nlohmann::json* value = find(parent, key);
  if (value == nullptr) return false;
  if (!value->is_boolean()) fail(join(path, key), "must be a boolean");
  return value->get<bool>();
}

std::optional<std::int64_t> optional_int(const nlohmann::json& parent, std::string_view key,
                                         const std::string& path) {
  const nlohmann::json* value = find(parent, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number_integer()) fail(join(path, key), "must be an integer");
  if (value->is_number_unsigned() && value->get<std::uint64_t>() > INT64_MAX)
    fail(join(path, key), "out of range");
  return value->get<std::int64_t>();
}

std::vector<std::string> string_array(const nlohmann::json* value, const std::string& path) {
  std::vector<std::string> result;
  if (value == nullptr) return result;
  if (!value->is_array()) fail(path, "must be an array of strings");
  for (std::size_t i = 0; i < value->size(); ++i) {
    const auto& element = (*value)[i];
    if (!element.is_string()) fail(path + "[" + std::to_string(i) + "]", "must be a string");
    result.push_back(element.get<std::string>());
  }
  return result;
}

void parse_process(const nlohmann::json& config, Bundle& bundle) {
  const auto& process = require_object(config, "process", "");
  const nlohmann::json* args = find(process, "args");
  if (args == nullptr || !args->is_array() || args->empty())
    fail("process.args", "must be a non-empty array");
  bundle.args = string_array(args, "process.args");
  if (bundle.args[0].empty()) fail("process.args[0]", "must not be empty");
  bundle.terminal = optional_bool(process, "terminal", "process");
  if (auto cwd = optional_string(process, "cwd", "process"); cwd && (*cwd).rfind('/', 0) != 0)
    fail("process.cwd", "must be an absolute path");
  string_array(find(process, "env"), "process.env");
}

void parse_root(const nlohmann::json& config, Bundle& bundle) {
  const auto& root = require_object(config, "root", "");
  std::string path = required_string(root, "path", "root");
  if (path.empty()) fail("root.path", "must not be empty");
  bundle.root_readonly = optional_bool(root, "readonly", "root");
  std::filesystem::path rootfs = path;
  if (rootfs.is_relative()) rootfs = bundle.dir / rootfs;
  struct stat st {};
  if (::stat(rootfs.c_str(), &st) != 0)
    fail("root.path", rootfs.string() + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) fail("root.path", rootfs.string() + ": not a directory");
  bundle.rootfs = rootfs.lexically_normal();
}

void parse_mounts(const nlohmann::json& config, Bundle& bundle) {
  const nlohmann::json* mounts = find(config, "mounts");
  if (mounts == nullptr) return;
  if (!mounts->is_array()) fail("mounts", "must be an array");
  for (std::size_t i = 0; i < mounts->size(); ++i) {
    std::string path = "mounts[" + std::to_string(i) + "]";
    const auto& entry = (*mounts)[i];
    if (!entry.is_object()) fail(path, "must be an object");
    Mount mount;
    mount.destination = required_string(entry, "destination", path);
    if (mount.destination.rfind('/', 0) != 0)
      fail(path + ".destination", "must be an absolute path");
    mount.type = optional_string(entry, "type", path).value_or("");
    mount.source = optional_string(entry, "source", path).value_or("");
    mount.options = string_array(find(entry, "options"), path + ".options");
    if (mount.is_bind() && mount.source.empty())
      fail(path + ".source", "a bind mount needs a source");
    bundle.mounts.push_back(std::move(mount));
  }
}

void parse_resources(const nlohmann::json& config, Bundle& bundle) {
  const nlohmann::json* linux_spec = optional_object(config, "linux", "");
  if (linux_spec == nullptr) return;
  const nlohmann::json* resources = optional_object(*linux_spec, "resources", "linux");
  if (resources == nullptr) return;
  if (const auto* memory = optional_object(*resources, "memory", "linux.resources"))
    bundle.resources.memory_limit = optional_int(*memory, "limit", "linux.resources.memory");
  if (const auto* cpu = optional_object(*resources, "cpu", "linux.resources")) {
    const std::string path = "linux.resources.cpu";
    bundle.resources.cpu_quota = optional_int(*cpu, "quota", path);
    if (auto period = optional_int(*cpu, "period", path)) {
      if (*period < 0) fail(path + ".period", "must not be negative");
      bundle.resources.cpu_period = static_cast<std::uint64_t>(*period);
    }
    if (auto cpus = optional_string(*cpu, "cpus", path); cpus && !cpus->empty()) {
      count_cpuset(*cpus, path + ".cpus");
      bundle.resources.cpuset_cpus = *cpus;
    }
  }
}

void parse_annotations(const nlohmann::json& config, Bundle& bundle) {
  const nlohmann::json* annotations = optional_object(config, "annotations", "");
  if (annotations == nullptr) return;
  for (const auto& [key, value] : annotations->items()) {
    if (!value.is_string()) fail("annotations." + key, "must be a string");
    bundle.annotations.emplace(key, value.get<std::string>());
  }
}

unsigned parse_cpu_number(std::string_view text, std::string_view field) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value > 4095)
    throw Error("config.json: " + std::string(field) + ": invalid CPU number \"" +
                std::string(text) + "\"");
  return value;
}

}  // namespace

bool Mount::is_bind() const {
  if (type == "bind") return true;
  return std::any_of(options.begin(), options.end(),
                     [](const std::string& o) { return o == "bind" || o == "rbind"; });
}

unsigned count_cpuset(std::string_view list, std::string_view field) {
  std::set<unsigned> cpus;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    std::string_view item =
        list.substr(start, comma == std::string_view::npos ? list.npos : comma - start);
    std::size_t dash = item.find('-');
    unsigned first = parse_cpu_number(item.substr(0, dash), field);
    unsigned last =
        dash == std::string_view::npos ? first : parse_cpu_number(item.substr(dash + 1), field);
    if (last < first)
      throw Error("config.json: " + std::string(field) + ": range \"" + std::string(item) +
                  "\" ends before it starts");
    for (unsigned cpu = first; cpu <= last; ++cpu) cpus.insert(cpu);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return static_cast<unsigned>(cpus.size());
}

Bundle parse_bundle(const nlohmann::json& config, const std::filesystem::path& dir) {
  if (!config.is_object()) throw Error("config.json: must be a JSON object");
  Bundle bundle;
  bundle.dir = std::filesystem::absolute(dir).lexically_normal();
  bundle.config = config;
  required_string(config, "ociVersion", "");
  parse_root(config, bundle);
  parse_process(config, bundle);
  parse_mounts(config, bundle);
  parse_resources(config, bundle);
  parse_annotations(config, bundle);
  bundle.hooks = parse_hooks(config);
  if (auto hostname = optional_string(config, "hostname", ""); hostname && hostname->size() > 64)
    fail("hostname", "longer than 64 characters");
  return bundle;
}

Bundle load_bundle(const std::filesystem::path& dir) {
  std::filesystem::path file = dir / "config.json";
  std::ifstream in(file);
  if (!in) throw Error(file.string() + ": " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's message carries the byte offset; keep it to one line.
    throw Error("config.json: invalid JSON at byte " + std::to_string(e.byte));
  }
  return parse_bundle(config, dir);
}

}  // namespace kvrun::oci
