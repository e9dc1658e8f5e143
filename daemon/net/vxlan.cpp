#include "net/vxlan.h"

#include <linux/neighbour.h>
#include <net/if.h>
#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/neighbour.h>
#include <sys/socket.h>

#include <mutex>
#include <string>
#include <system_error>

#include "net/netlink.h"

namespace sluice::net {

namespace {

struct NeighDeleter {
  void operator()(rtnl_neigh* n) const { rtnl_neigh_put(n); }
};
using NetlinkNeigh = std::unique_ptr<rtnl_neigh, NeighDeleter>;

NetlinkAddr mac_address(const config::Prefix& underlay) {
  auto mac = vxlan_mac(underlay);
  return NetlinkAddr(nl_addr_build(AF_LLC, mac.data(), mac.size()));
}

// What the device in the kernel was made for (this process made it);
// a sluiced that starts finds none and makes the device again.
std::mutex made_mutex;
std::optional<config::VxlanTunnel> made;

void remove_device(nl_sock* sock, Changes& out) {
  rtnl_link* raw = nullptr;
  if (rtnl_link_get_kernel(sock, 0, config::kVxlanDevice, &raw) < 0) return;
  NetlinkLink link(raw);
  if (int err = rtnl_link_delete(sock, link.get()); err < 0)
    out.problems.push_back(std::string("removing ") + config::kVxlanDevice + ": " +
                           nl_geterror(err));
  else
    ++out.removed;
}

// A static entry: the peer's tunnel address at its MAC (family AF_INET),
// or its MAC behind its InternalIP (AF_BRIDGE, the device's own table).
int add_entry(nl_sock* sock, int ifindex, const config::VxlanPeer& p, bool fdb) {
  NetlinkNeigh n(rtnl_neigh_alloc());
  auto mac = mac_address(p.underlay);
  auto dst = netlink_address(fdb ? p.underlay : p.vtep);
  nl_addr_set_prefixlen(dst.get(), 32);
  rtnl_neigh_set_ifindex(n.get(), ifindex);
  rtnl_neigh_set_lladdr(n.get(), mac.get());
  rtnl_neigh_set_dst(n.get(), dst.get());
  // After the destination: libnl takes the family from it, and an
  // AF_INET forwarding entry is refused.
  rtnl_neigh_set_family(n.get(), fdb ? AF_BRIDGE : AF_INET);
  rtnl_neigh_set_state(n.get(), NUD_PERMANENT);
  if (fdb) rtnl_neigh_set_flags(n.get(), NTF_SELF);
  return rtnl_neigh_add(sock, n.get(), NLM_F_CREATE | NLM_F_REPLACE);
}

// Returns whether the device was made (its entries may still have
// problems, reported in out: they are tried again at the next change).
bool make_device(nl_sock* sock, const config::VxlanTunnel& t, Changes& out) {
  NetlinkLink link(rtnl_link_vxlan_alloc());
  auto local = netlink_address(t.local);
  auto mac = mac_address(t.local);
  rtnl_link_set_name(link.get(), config::kVxlanDevice);
  rtnl_link_vxlan_set_id(link.get(), kVxlanId);
  rtnl_link_vxlan_set_local(link.get(), local.get());
  rtnl_link_vxlan_set_port(link.get(), kVxlanPort);
  rtnl_link_vxlan_set_learning(link.get(), 0);
  rtnl_link_set_addr(link.get(), mac.get());
  rtnl_link_set_flags(link.get(), IFF_UP);
  if (int err = rtnl_link_add(sock, link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) {
    out.problems.push_back(std::string("making ") + config::kVxlanDevice + ": " + nl_geterror(err));
    return false;
  }
  ++out.added;
  int ifindex = static_cast<int>(if_nametoindex(config::kVxlanDevice));
  for (const auto& p : t.peers)
    for (bool fdb : {false, true})
      if (int err = add_entry(sock, ifindex, p, fdb); err < 0)
        out.problems.push_back(std::string(config::kVxlanDevice) + ": the entry of " +
                               p.underlay.to_string() + ": " + nl_geterror(err));
  return true;
}

}  // namespace

std::array<std::uint8_t, 6> vxlan_mac(const config::Prefix& underlay) {
  return {0x02, 0x53, underlay.addr[0], underlay.addr[1], underlay.addr[2], underlay.addr[3]};
}

Changes reconcile_vxlan(const std::optional<config::VxlanTunnel>& tunnel) {
  Changes out;
  std::lock_guard lock(made_mutex);
  if (tunnel == made && (!tunnel || if_nametoindex(config::kVxlanDevice) != 0)) {
    out.kept = tunnel ? 1 : 0;
    return out;
  }
  NetlinkSocket sock;
  try {
    sock = route_socket();
  } catch (const std::system_error& e) {
    out.problems.push_back(e.what());
    return out;
  }
  // Made again from scratch: the peers change when nodes come or go,
  // which is rare; the routes through it are put back by the caller.
  remove_device(sock.get(), out);
  made.reset();
  if (!tunnel) return out;
  // Made is made: a failed entry is not worth remaking the device (and
  // re-attaching sluice to it) on every refresh.
  if (make_device(sock.get(), *tunnel, out)) made = tunnel;
  return out;
}

}  // namespace sluice::net
