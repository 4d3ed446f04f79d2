// What the kvrun-vmm command line asks for in virtio devices, and the parsers of the options
// that describe them. Kept apart from the device code so vmm.h stays light.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "vmm/devices/virtio/net/net_option.h"
#include "vmm/devices/virtio/vsock/vsock_option.h"

namespace kvrun::vmm {

struct DiskConfig {
  std::filesystem::path path;
  bool read_only = false;
};

// "PATH[,ro|,rw]" (the --disk option). Throws kvrun::Error for an empty path or an unknown
// flag. Paths with commas are not supported.
DiskConfig parse_disk_option(std::string_view text);

struct VirtioConfig {
  std::vector<DiskConfig> disks;  // /dev/vda, /dev/vdb, ... in this order
  // Empty read-only drives after the disks, whose media the control socket changes
  // (vmm/control/). Each takes an IRQ like any device.
  unsigned disk_slots = 0;
  std::optional<std::filesystem::path> control_socket;
  std::vector<net::NetConfig> nets;  // eth0, eth1, ... in this order
  bool rng = false;
  std::optional<vsock::VsockConfig> vsock;  // at most one: the guest has one CID
};

}  // namespace kvrun::vmm
