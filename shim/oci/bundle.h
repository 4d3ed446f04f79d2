// The host's view of an OCI bundle (config.json + rootfs): only what the host needs to launch
// the sandbox — rootfs, mounts to pass or refuse, resources for sizing, terminal, annotations.
// The guest agent parses the whole spec again, strictly; checking the host's part here gives
// the user one clear line ("config.json: process.args: must be a non-empty array") before any
// VM boots.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "shim/oci/hooks.h"

namespace kvrun::oci {

struct Mount {
  std::string destination;
  std::string type;  // "" when absent (bind mounts may omit it)
  std::string source;
  std::vector<std::string> options;
  // A bind mount takes a host path into the container; in a VM it needs the file or directory
  // to be shipped to the guest.
  bool is_bind() const;
};

struct Resources {
  std::optional<std::int64_t> memory_limit;  // bytes; absent or <= 0: unlimited
  std::optional<std::int64_t> cpu_quota;     // microseconds per period; <= 0: unlimited
  std::optional<std::uint64_t> cpu_period;   // microseconds
  std::optional<std::string> cpuset_cpus;    // "0-3,6"
};

struct Bundle {
  std::filesystem::path dir;     // absolute
  nlohmann::json config;         // config.json as read
  std::filesystem::path rootfs;  // absolute, exists, a directory
  bool root_readonly = false;
  std::vector<std::string> args;
  bool terminal = false;
  std::vector<Mount> mounts;
  Resources resources;
  std::map<std::string, std::string> annotations;
  Hooks hooks;
};

// Reads and checks <dir>/config.json and the rootfs it names. Throws Error with one line:
// "config.json: <field path>: <problem>" or "<path>: <errno text>".
Bundle load_bundle(const std::filesystem::path& dir);
// The same checks on an already parsed config (dir makes root.path absolute).
Bundle parse_bundle(const nlohmann::json& config, const std::filesystem::path& dir);

// Parses a cpuset list ("0-3,6") and returns how many CPUs it names. Throws Error naming `field`.
unsigned count_cpuset(std::string_view list, std::string_view field);

}  // namespace kvrun::oci
