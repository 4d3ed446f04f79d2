#include "shim/network/netlink.h"

#include <string>

#include "common/error.h"

namespace kvrun::network {

NlSocket open_route_socket() {
  NlSocket socket(nl_socket_alloc());
  if (!socket) throw Error("netlink: out of memory");
  check_nl(nl_connect(socket.get(), NETLINK_ROUTE), "netlink: connect");
  return socket;
}

int check_nl(int rc, std::string_view what) {
  if (rc < 0) throw Error(std::string(what) + ": " + nl_geterror(rc));
  return rc;
}

}  // namespace kvrun::network
