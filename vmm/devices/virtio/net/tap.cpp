#include "vmm/devices/virtio/net/tap.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>

#include "common/error.h"
#include "vmm/devices/virtio/net/net_defs.h"
#include "common/netns.h"

namespace kvrun::vmm::net {
namespace {

struct Opened {
  UniqueFd fd;
  bool created = false;
};

// Must run in the namespace the tap lives in: TUNSETIFF binds the device to the namespace of
// the thread that calls it.
Opened attach(const std::string& name) {
  Opened result;
  result.created = ::if_nametoindex(name.c_str()) == 0;
  result.fd.reset(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!result.fd) throw_errno("tap " + name + ": /dev/net/tun");

  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), name.size());
  request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (::ioctl(result.fd.get(), TUNSETIFF, &request) != 0) {
    const int err = errno;
    if (err == EBUSY) throw Error("tap " + name + ": already attached to another process");
    if (err == EINVAL && !result.created)
      throw Error("tap " + name + ": exists but is not a single-queue tap device");
    throw_errno("tap " + name + ": TUNSETIFF", err);
  }
  return result;
}

unsigned probe_offloads(int fd) {
  unsigned supported = 0;
  // Each flag is tried on top of the ones it depends on; a kernel that lacks one says EINVAL.
  for (unsigned flag : {TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN}) {
    unsigned attempt = supported | flag;
    if (flag == TUN_F_TSO_ECN) attempt |= TUN_F_TSO4;
    if (::ioctl(fd, TUNSETOFFLOAD, attempt) == 0) supported |= flag;
    if ((supported & TUN_F_CSUM) == 0) break;
  }
  return supported;
}

}  // namespace

void Tap::check_name(std::string_view name) {
  const auto fail = [name](const char* why) {
    throw Error("tap name '" + std::string(name) + "': " + why);
  };
  if (name.empty()) fail("empty");
  if (name.size() >= IFNAMSIZ) fail("longer than 15 bytes");
  if (name == "." || name == "..") fail("not an interface name");
  for (char c : name) {
    if (c == '/' || c == ':' || c == '%' || c <= ' ' || c == 0x7f)
      fail("holds a character interface names cannot ('/', ':', '%', space or control)");
  }
}

Tap Tap::open(const std::string& name, const std::optional<std::filesystem::path>& netns) {
  check_name(name);
  Opened opened;
  if (netns) {
    run_in_netns(*netns, [&] { opened = attach(name); });
  } else {
    opened = attach(name);
  }
  const int fd = opened.fd.get();

  int header_bytes = static_cast<int>(kNetHeaderBytes);
  if (::ioctl(fd, TUNSETVNETHDRSZ, &header_bytes) != 0)
    throw_errno("tap " + name + ": TUNSETVNETHDRSZ");
  const unsigned supported = probe_offloads(fd);
  // Until the guest says what it can take, the tap hands us plain, checksummed frames only.
  if (::ioctl(fd, TUNSETOFFLOAD, 0u) != 0) throw_errno("tap " + name + ": TUNSETOFFLOAD");

  spdlog::info("tap {}: {}{}, offloads {:#x}", name,
               opened.created ? "created (deleted when the VM exits)" : "attached",
               netns ? " in " + netns->string() : std::string(), supported);
  return Tap(std::move(opened.fd), name, opened.created, supported);
}

void Tap::set_offloads(unsigned tun_flags) {
  if (::ioctl(fd_.get(), TUNSETOFFLOAD, tun_flags) != 0)
    throw_errno("tap " + name_ + ": TUNSETOFFLOAD " + std::to_string(tun_flags));
}

}  // namespace kvrun::vmm::net
