#include "net/routes.h"

#include <net/if.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <system_error>

#include "net/netlink.h"

namespace sluice::net {

namespace {

// What identifies a route here: destination, next hop, device.
std::string key_of(const std::string& dst, const std::string& via, int ifindex) {
  std::string k = dst;
  if (!via.empty()) k += " via " + via;
  if (ifindex) {
    char name[IF_NAMESIZE] = {};
    k += " dev " + std::string(if_indextoname(static_cast<unsigned>(ifindex), name)
                                   ? name
                                   : std::to_string(ifindex));
  }
  return k;
}

std::string text(nl_addr* a) {
  char buf[128] = {};
  return a ? nl_addr2str(a, buf, sizeof buf) : "";
}

using RouteMap = std::map<std::string, NetlinkRoute>;

// The routes the config wants, keyed like the existing ones; a route to a
// missing interface is a problem in out.
RouteMap wanted_routes(const std::vector<config::Route>& routes, Changes& out) {
  RouteMap wanted;
  for (const auto& r : routes) {
    NetlinkRoute route(rtnl_route_alloc());
    auto dst = netlink_address(r.to);
    rtnl_route_set_family(route.get(), r.to.family == config::Family::V4 ? AF_INET : AF_INET6);
    rtnl_route_set_dst(route.get(), dst.get());
    rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
    rtnl_route_set_protocol(route.get(), kRouteProtocol);
    rtnl_nexthop* nh = rtnl_route_nh_alloc();
    int ifindex = 0;
    if (!r.dev.empty()) {
      ifindex = static_cast<int>(if_nametoindex(r.dev.c_str()));
      if (ifindex == 0) {
        rtnl_route_nh_free(nh);
        out.problems.push_back("route to " + r.to.to_string() + ": no interface " + r.dev);
        continue;
      }
      rtnl_route_nh_set_ifindex(nh, ifindex);
    }
    std::string via;
    if (r.via) {
      auto gw = netlink_address(*r.via);
      rtnl_route_nh_set_gateway(nh, gw.get());
      via = text(gw.get());
    }
    if (r.onlink) rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
    rtnl_route_add_nexthop(route.get(), nh);
    wanted[key_of(text(dst.get()), via, ifindex)] = std::move(route);
  }
  return wanted;
}

}  // namespace

Changes reconcile_routes(const std::vector<config::Route>& routes) {
  Changes out;
  NetlinkSocket sock;
  try {
    sock = route_socket();
  } catch (const std::system_error& e) {
    out.problems.push_back(e.what());
    return out;
  }

  auto wanted = wanted_routes(routes, out);

  // sluice's routes as they are now.
  nl_cache* raw = nullptr;
  if (rtnl_route_alloc_cache(sock.get(), AF_UNSPEC, 0, &raw) < 0) {
    out.problems.push_back("cannot read the routing table");
    return out;
  }
  NetlinkCache cache(raw);
  for (nl_object* obj = nl_cache_get_first(cache.get()); obj; obj = nl_cache_get_next(obj)) {
    auto* route = reinterpret_cast<rtnl_route*>(obj);
    if (rtnl_route_get_protocol(route) != kRouteProtocol ||
        rtnl_route_get_table(route) != RT_TABLE_MAIN)
      continue;
    rtnl_nexthop* nh = rtnl_route_nexthop_n(route, 0);
    std::string via = nh ? text(rtnl_route_nh_get_gateway(nh)) : "";
    // A route given without dev has the device the kernel chose; match it
    // against the wanted route without dev too.
    int ifindex = nh ? rtnl_route_nh_get_ifindex(nh) : 0;
    std::string dst = text(rtnl_route_get_dst(route));
    if (wanted.erase(key_of(dst, via, ifindex)) || wanted.erase(key_of(dst, via, 0))) {
      ++out.kept;
      continue;
    }
    if (rtnl_route_delete(sock.get(), route, 0) == 0)
      ++out.removed;
    else
      out.problems.push_back("cannot remove sluice's route to " + dst);
  }

  for (auto& [key, route] : wanted) {
    // EXCL: a destination someone else routes stays theirs.
    int err = rtnl_route_add(sock.get(), route.get(), NLM_F_EXCL);
    if (err == 0)
      ++out.added;
    else if (err == -NLE_EXIST)
      out.problems.push_back(
          "route " + key +
          ": the destination already has a route sluice did not add; left as it is");
    else
      out.problems.push_back("route " + key + ": " + nl_geterror(err));
  }
  return out;
}

std::string set_forwarding(bool on) {
  for (const char* path :
       {"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"}) {
    std::ofstream f(path);
    f << (on ? "1" : "0");
    if (!f) return std::string("cannot write ") + path;
  }
  return {};
}

}  // namespace sluice::net
