// The host side of kvrun-vmm's control socket (server.h, request.h), for the shim: a pod's
// containers bring their root filesystem images into the running pod VM.
//
// Each request is bounded by a timeout, from connecting to the last byte of the reply: a VMM
// that accepts and never answers (wedged, or compromised after the guest broke out into it) must
// not hang the shim. The server answers at once from a thread of its own, so seconds mean gone.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace kvrun::vmm::control {

inline constexpr std::chrono::milliseconds kDefaultRequestTimeout{5000};

// Gives the VM `image_fd` (open for reading) as the media of its lowest free disk slot and
// returns the slot. Throws Error("<socket>: <the VMM's reason>"), TimeoutError. After a timeout
// no slot is known to the caller: one the VMM filled after all stays so until the VM ends.
unsigned attach_disk(const std::filesystem::path& socket, int image_fd,
                     std::chrono::milliseconds timeout = kDefaultRequestTimeout);
// Takes the media out of `slot`. Throws Error likewise.
void detach_disk(const std::filesystem::path& socket, unsigned slot,
                 std::chrono::milliseconds timeout = kDefaultRequestTimeout);

// The guest's name for disk slot `slot` when the VM has `disks` --disk disks before the slots:
// virtio-blk names devices in the order of the command line (vda, vdb, ...).
std::string guest_disk_name(unsigned disks, unsigned slot);

}  // namespace kvrun::vmm::control
