// A tap device opened by name for virtio-net: frames carry the 12-byte virtio_net_hdr_v1,
// the fd is non-blocking, and the offloads the tap may hand us are set from what the guest
// negotiated.
//
// Lifetime: a tap that already exists (made by the caller, e.g. `ip tuntap add`) is attached
// to and left in place. A name that does not exist gets a new, non-persistent tap, which the
// kernel deletes when our fd closes — also when kvrun-vmm is killed — so nothing can leak.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/unique_fd.h"

namespace kvrun::vmm::net {

class Tap {
 public:
  // Opens (or creates, see above) tap `name`. With `netns`, the tap is looked up and created in
  // that network namespace (/run/netns/X or /proc/PID/ns/net); the VMM's own stays untouched.
  // Throws kvrun::Error naming the tap for an invalid name, a missing namespace, a device that
  // is not a single-queue tap, or one already attached to another process.
  static Tap open(const std::string& name, const std::optional<std::filesystem::path>& netns);

  // Throws kvrun::Error unless `name` is a valid interface name (1-15 bytes, no '/', ':', '%'
  // or whitespace, not "." or "..").
  static void check_name(std::string_view name);

  Tap(Tap&&) = default;
  Tap& operator=(Tap&&) = default;

  int fd() const { return fd_.get(); }
  const std::string& name() const { return name_; }
  // True if this Tap created the device (it goes away when the Tap is destroyed).
  bool created() const { return created_; }
  // TUN_F_* flags this tap accepted when probed at open().
  unsigned supported_offloads() const { return supported_offloads_; }

  // TUNSETOFFLOAD: which kinds of offloaded frames the tap may hand us. Throws kvrun::Error.
  void set_offloads(unsigned tun_flags);

 private:
  Tap(UniqueFd fd, std::string name, bool created, unsigned supported)
      : fd_(std::move(fd)),
        name_(std::move(name)),
        created_(created),
        supported_offloads_(supported) {}

  UniqueFd fd_;
  std::string name_;
  bool created_ = false;
  unsigned supported_offloads_ = 0;
};

}  // namespace kvrun::vmm::net
