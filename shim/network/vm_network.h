// A VM sandbox's network, from the container's network namespace (the path an engine or CNI
// put in the spec): the uplink found there is mirrored to tap kTapName in the same namespace
// (mirror.h), kvrun-vmm attaches to that tap, and the guest's eth0 gets the uplink's MAC, MTU,
// addresses and routes (ConfigureNetwork). The uplink keeps its addresses: the ingress redirect
// takes every frame before the namespace's stack would see it, and the engine that made the
// network still finds what it configured. No uplink there: the guest has loopback only.
//
// What was set up is recorded in <state dir>/network.json before anything is made, so `kvrun
// delete` can undo it even when the monitor that owns it was killed.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "shim/network/uplink.h"

namespace kvrun::network {

inline constexpr const char* kTapName = "kvtap0";

// The `path` of the spec's linux.namespaces entry of type "network"; nullopt when there is none
// or it has no path (a new, empty namespace: loopback only). Throws Error naming the field when
// it is not a non-empty absolute path.
std::optional<std::filesystem::path> network_namespace_path(const nlohmann::json& config);

class VmNetwork {
 public:
  // Finds the uplink in `netns` and mirrors it to the tap; records into `state_dir`. Throws
  // Error (nothing left behind) when the namespace cannot be entered or the mirror not made.
  static VmNetwork setup(const std::filesystem::path& netns,
                         const std::filesystem::path& state_dir);
  // Removes the tap and the qdiscs (tolerating a namespace that is gone) and the record.
  ~VmNetwork();
  VmNetwork(VmNetwork&& other) noexcept;
  VmNetwork& operator=(VmNetwork&&) = delete;
  VmNetwork(const VmNetwork&) = delete;

  const std::filesystem::path& netns() const { return netns_; }
  // nullopt: loopback only, no tap.
  const std::optional<Uplink>& uplink() const { return uplink_; }

 private:
  VmNetwork(std::filesystem::path netns, std::filesystem::path state_dir)
      : netns_(std::move(netns)), state_dir_(std::move(state_dir)) {}

  std::filesystem::path netns_, state_dir_;
  std::optional<Uplink> uplink_;
  bool owned_ = true;
};

// Undoes what <state_dir>/network.json records, if anything, and removes it. For `delete`
// after a monitor that could not clean up. Throws Error if the teardown fails.
void remove_recorded_network(const std::filesystem::path& state_dir);

}  // namespace kvrun::network
