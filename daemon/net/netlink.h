// Owners for the libnl objects the net subsystem uses (internal to it).
#pragma once

#include <memory>

#include "config/address.h"

struct nl_sock;
struct nl_cache;
struct nl_addr;
struct rtnl_addr;
struct rtnl_link;
struct rtnl_route;

namespace sluice::net {

struct SocketDeleter {
  void operator()(nl_sock* s) const;
};
struct CacheDeleter {
  void operator()(nl_cache* c) const;
};
struct AddrDeleter {
  void operator()(nl_addr* a) const;
};
struct IfAddrDeleter {
  void operator()(rtnl_addr* a) const;
};
struct LinkDeleter {
  void operator()(rtnl_link* l) const;
};
struct RouteDeleter {
  void operator()(rtnl_route* r) const;
};
using NetlinkSocket = std::unique_ptr<nl_sock, SocketDeleter>;
using NetlinkCache = std::unique_ptr<nl_cache, CacheDeleter>;
using NetlinkAddr = std::unique_ptr<nl_addr, AddrDeleter>;        // an address
using NetlinkIfAddr = std::unique_ptr<rtnl_addr, IfAddrDeleter>;  // an interface's address
using NetlinkLink = std::unique_ptr<rtnl_link, LinkDeleter>;
using NetlinkRoute = std::unique_ptr<rtnl_route, RouteDeleter>;

// A prefix as libnl's address, its length set; null when out of memory.
NetlinkAddr netlink_address(const config::Prefix& p);

// A socket connected to NETLINK_ROUTE. Throws std::system_error.
NetlinkSocket route_socket();

}  // namespace sluice::net
