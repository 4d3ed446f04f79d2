// ConfigureNetwork in the agent: loopback up, then each interface of the request (found by
// its MAC) renamed, given its MTU and addresses and brought up, then the routes in order.
#pragma once

#include "protocol/network_messages.h"

namespace kvrun::agent::net {

// Configures the network namespace target_netns_fd, moving the interfaces there from the
// calling thread's namespace first; target_netns_fd -1 configures the calling thread's own.
// Throws Error naming the item and the kernel's reason
// ("interfaces[0].addresses[1] 10.88.0.5/16: File exists"); what was done before stays.
void apply_network(const protocol::ConfigureNetwork& request, int target_netns_fd);

}  // namespace kvrun::agent::net
