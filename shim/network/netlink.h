// Small RAII and error helpers over libnl-3 (netlink-route): every libnl object we allocate is
// owned by a NlPtr, and a negative libnl return becomes one Error line naming what failed.
// libnl parses and length-checks the kernel's netlink replies itself before we see an object.
#pragma once

#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/action.h>
#include <netlink/route/addr.h>
#include <netlink/route/classifier.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/route.h>

#include <memory>
#include <string_view>

namespace kvrun::network {

template <auto Free>
struct NlFree {
  template <typename T>
  void operator()(T* object) const {
    Free(object);
  }
};

using NlSocket = std::unique_ptr<nl_sock, NlFree<nl_socket_free>>;
using NlCache = std::unique_ptr<nl_cache, NlFree<nl_cache_free>>;
using NlLink = std::unique_ptr<rtnl_link, NlFree<rtnl_link_put>>;
using NlQdisc = std::unique_ptr<rtnl_qdisc, NlFree<rtnl_qdisc_put>>;
using NlCls = std::unique_ptr<rtnl_cls, NlFree<rtnl_cls_put>>;
using NlAct = std::unique_ptr<rtnl_act, NlFree<rtnl_act_put>>;

// A connected NETLINK_ROUTE socket in the calling thread's network namespace (it stays bound to
// that namespace). Throws Error.
NlSocket open_route_socket();

// Throws Error("<what>: <libnl's message>") when rc < 0; returns rc otherwise.
int check_nl(int rc, std::string_view what);

}  // namespace kvrun::network
