// The tap a VM's virtio-net uses, wired to the container's interface the way Kata's "tcfilter"
// model does: each device gets an ingress qdisc (ffff:) with one u32 match-all filter whose
// action is mirred egress redirect to the other. Every frame arriving on the veth goes out of
// the tap (to the VMM) and every frame the guest sends goes out of the veth; the namespace's
// own stack sees none of them. All calls act on the socket's (and thread's) namespace.
#pragma once

#include <netlink/netlink.h>

#include <string>

namespace kvrun::network {

// Creates persistent tap `tap` (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, so kvrun-vmm can attach to
// it by name), sets its MTU, brings it up, then adds both redirects. Throws Error if `tap`
// already exists (another sandbox in this namespace) or anything fails; what was made before
// the failure is removed again.
void create_mirror(nl_sock* socket, int uplink_index, const std::string& tap, unsigned mtu);

// Deletes `tap` (its qdisc goes with it) and the ingress qdisc of `uplink`. Devices already
// gone are not an error. Throws Error for other failures.
void remove_mirror(nl_sock* socket, const std::string& uplink, const std::string& tap);

}  // namespace kvrun::network
