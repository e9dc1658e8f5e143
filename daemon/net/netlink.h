// Owners for the libnl objects the net subsystem uses (internal to it).
#pragma once

#include <memory>

struct nl_sock;
struct nl_cache;

namespace sluice::net {

struct SocketDeleter {
  void operator()(nl_sock* s) const;
};
struct CacheDeleter {
  void operator()(nl_cache* c) const;
};
using NetlinkSocket = std::unique_ptr<nl_sock, SocketDeleter>;
using NetlinkCache = std::unique_ptr<nl_cache, CacheDeleter>;

// A socket connected to NETLINK_ROUTE. Throws std::system_error.
NetlinkSocket route_socket();

}  // namespace sluice::net
