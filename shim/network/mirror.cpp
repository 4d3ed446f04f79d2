#include "shim/network/mirror.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/tc.h>
#include <sys/ioctl.h>

#include <cstring>

#include "common/error.h"
#include "common/unique_fd.h"
#include "shim/network/netlink.h"

namespace kvrun::network {
namespace {

constexpr std::uint32_t kIngressHandle = TC_HANDLE(0xffff, 0);

void make_persistent_tap(const std::string& name) {
  UniqueFd tun(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!tun) throw_errno("tap " + name + ": /dev/net/tun");
  ifreq request{};
  std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
  request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (::ioctl(tun.get(), TUNSETIFF, &request) != 0) throw_errno("tap " + name + ": TUNSETIFF");
  // Persistent: it outlives this fd until remove_mirror(), so the filters can name it before
  // kvrun-vmm attaches.
  if (::ioctl(tun.get(), TUNSETPERSIST, 1) != 0) throw_errno("tap " + name + ": TUNSETPERSIST");
}

NlLink get_link(nl_sock* socket, const std::string& name) {
  rtnl_link* link = nullptr;
  int rc = rtnl_link_get_kernel(socket, 0, name.c_str(), &link);
  if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV) return nullptr;
  check_nl(rc, "netlink: link " + name);
  return NlLink(link);
}

void set_mtu_up(nl_sock* socket, rtnl_link* link, unsigned mtu, const std::string& name) {
  NlLink change(rtnl_link_alloc());
  rtnl_link_set_mtu(change.get(), mtu);
  rtnl_link_set_flags(change.get(), IFF_UP);
  check_nl(rtnl_link_change(socket, link, change.get(), 0),
           "tap " + name + ": MTU " + std::to_string(mtu) + " and up");
}

void add_ingress_qdisc(nl_sock* socket, int index, const std::string& name) {
  NlQdisc qdisc(rtnl_qdisc_alloc());
  rtnl_tc_set_ifindex(TC_CAST(qdisc.get()), index);
  rtnl_tc_set_parent(TC_CAST(qdisc.get()), TC_H_INGRESS);
  rtnl_tc_set_handle(TC_CAST(qdisc.get()), kIngressHandle);
  check_nl(rtnl_tc_set_kind(TC_CAST(qdisc.get()), "ingress"), "tc: ingress qdisc");
  check_nl(rtnl_qdisc_add(socket, qdisc.get(), NLM_F_CREATE | NLM_F_EXCL),
           "tc: ingress qdisc on " + name);
}

// u32 with one key that masks nothing: matches every frame of every protocol.
void add_redirect(nl_sock* socket, int from, int to, const std::string& from_name) {
  NlCls filter(rtnl_cls_alloc());
  rtnl_tc_set_ifindex(TC_CAST(filter.get()), from);
  rtnl_tc_set_parent(TC_CAST(filter.get()), kIngressHandle);
  check_nl(rtnl_tc_set_kind(TC_CAST(filter.get()), "u32"), "tc: u32 filter");
  rtnl_cls_set_protocol(filter.get(), ETH_P_ALL);
  rtnl_cls_set_prio(filter.get(), 1);
  check_nl(rtnl_u32_add_key_uint32(filter.get(), 0, 0, 0, 0), "tc: u32 key");
  check_nl(rtnl_u32_set_cls_terminal(filter.get()), "tc: u32 terminal");
  NlAct action(rtnl_act_alloc());
  check_nl(rtnl_tc_set_kind(TC_CAST(action.get()), "mirred"), "tc: mirred action");
  rtnl_mirred_set_action(action.get(), TCA_EGRESS_REDIR);
  rtnl_mirred_set_policy(action.get(), TC_ACT_STOLEN);
  rtnl_mirred_set_ifindex(action.get(), static_cast<std::uint32_t>(to));
  // The filter takes its own reference to the action.
  check_nl(rtnl_u32_add_action(filter.get(), action.get()), "tc: u32 action");
  check_nl(rtnl_cls_add(socket, filter.get(), NLM_F_CREATE | NLM_F_EXCL),
           "tc: redirect filter on " + from_name);
}

void delete_ingress_qdisc(nl_sock* socket, int index, const std::string& name) {
  NlQdisc qdisc(rtnl_qdisc_alloc());
  rtnl_tc_set_ifindex(TC_CAST(qdisc.get()), index);
  rtnl_tc_set_parent(TC_CAST(qdisc.get()), TC_H_INGRESS);
  rtnl_tc_set_handle(TC_CAST(qdisc.get()), kIngressHandle);
  int rc = rtnl_qdisc_delete(socket, qdisc.get());
  // Not there (never added, or the device went): nothing to undo.
  if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV || rc == -NLE_INVAL || rc == -NLE_NOADDR) return;
  check_nl(rc, "tc: delete ingress qdisc on " + name);
}

}  // namespace

void create_mirror(nl_sock* socket, int uplink_index, const std::string& tap, unsigned mtu) {
  if (get_link(socket, tap))
    throw Error("tap " + tap +
                " already exists in the container's network namespace (another sandbox uses it?)");
  char uplink_name[IFNAMSIZ] = {};
  NlLink uplink;
  {
    rtnl_link* link = nullptr;
    check_nl(rtnl_link_get_kernel(socket, uplink_index, nullptr, &link), "netlink: uplink");
    uplink.reset(link);
    std::strncpy(uplink_name, rtnl_link_get_name(link), IFNAMSIZ - 1);
  }
  make_persistent_tap(tap);
  bool uplink_qdisc_ours = false;
  try {
    NlLink link = get_link(socket, tap);
    if (!link) throw Error("tap " + tap + ": created but not found");
    set_mtu_up(socket, link.get(), mtu, tap);
    const int tap_index = rtnl_link_get_ifindex(link.get());
    add_ingress_qdisc(socket, tap_index, tap);
    add_redirect(socket, tap_index, uplink_index, tap);
    add_ingress_qdisc(socket, uplink_index, uplink_name);
    uplink_qdisc_ours = true;
    add_redirect(socket, uplink_index, tap_index, uplink_name);
  } catch (...) {
    // The first error is the one to report; an ingress qdisc that was there before stays.
    try {
      if (NlLink link = get_link(socket, tap)) rtnl_link_delete(socket, link.get());
      if (uplink_qdisc_ours) delete_ingress_qdisc(socket, uplink_index, uplink_name);
    } catch (const Error&) {
    }
    throw;
  }
}

void remove_mirror(nl_sock* socket, const std::string& uplink, const std::string& tap) {
  if (NlLink link = get_link(socket, tap))
    check_nl(rtnl_link_delete(socket, link.get()), "netlink: delete tap " + tap);
  if (NlLink link = get_link(socket, uplink))
    delete_ingress_qdisc(socket, rtnl_link_get_ifindex(link.get()), uplink);
}

}  // namespace kvrun::network
