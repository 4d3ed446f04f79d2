// The host side of kvrun-vmm's control socket (server.h, request.h), for the shim: a pod's
// containers bring their root filesystem images into the running pod VM.
#pragma once

#include <filesystem>
#include <string>

namespace kvrun::vmm::control {

// Gives the VM `image_fd` (open for reading) as the media of its lowest free disk slot and
// returns the slot. Throws Error("<socket>: <the VMM's reason>").
unsigned attach_disk(const std::filesystem::path& socket, int image_fd);
// Takes the media out of `slot`. Throws Error likewise.
void detach_disk(const std::filesystem::path& socket, unsigned slot);

// The guest's name for disk slot `slot` when the VM has `disks` --disk disks before the slots:
// virtio-blk names devices in the order of the command line (vda, vdb, ...).
std::string guest_disk_name(unsigned disks, unsigned slot);

}  // namespace kvrun::vmm::control
