#include "shim/sandbox/guest_spec.h"

#include <sys/statvfs.h>

#include <string>
#include <vector>

namespace kvrun::sandbox {
namespace {

// The guest's /dev/shm: a tmpfs with the bind's flags and, when the source is a tmpfs, its size.
nlohmann::json shm_mount(const oci::Mount& bind) {
  std::vector<std::string> options;
  for (const auto& option : bind.options) {
    if (option == "nosuid" || option == "noexec" || option == "nodev" || option == "ro")
      options.push_back(option);
  }
  options.push_back("mode=1777");
  struct statvfs fs {};
  if (::statvfs(bind.source.c_str(), &fs) == 0 && fs.f_blocks > 0)
    options.push_back("size=" + std::to_string(fs.f_blocks * fs.f_frsize));
  return {{"destination", bind.destination},
          {"type", "tmpfs"},
          {"source", "shm"},
          {"options", options}};
}

// bundle.mounts has config's mounts in their order (load_bundle checked each one).
void replace_shm_binds(const oci::Bundle& bundle, nlohmann::json& config) {
  for (std::size_t i = 0; i < bundle.mounts.size(); ++i) {
    if (is_shm_bind(bundle.mounts[i])) config["mounts"][i] = shm_mount(bundle.mounts[i]);
  }
}

// The host path means nothing in the guest; without it the agent makes a new namespace.
void drop_network_namespace_path(nlohmann::json& config) {
  if (!config.is_object() || !config.contains("linux") || !config["linux"].is_object()) return;
  auto& namespaces = config["linux"]["namespaces"];
  if (!namespaces.is_array()) return;
  for (auto& entry : namespaces)
    if (entry.is_object() && entry.value("type", nlohmann::json()) == "network")
      entry.erase("path");
}

}  // namespace

bool is_shm_bind(const oci::Mount& mount) {
  return mount.is_bind() && mount.destination == "/dev/shm";
}

nlohmann::json constrain_for_guest(const oci::Bundle& bundle, const GuestSpecContext& context) {
  nlohmann::json config = bundle.config;
  replace_shm_binds(bundle, config);
  if (context.loopback_only_network) drop_network_namespace_path(config);
  return config;
}

}  // namespace kvrun::sandbox
