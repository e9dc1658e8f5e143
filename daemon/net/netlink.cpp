#include "net/netlink.h"

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace sluice::net {

void SocketDeleter::operator()(nl_sock* s) const { nl_socket_free(s); }
void CacheDeleter::operator()(nl_cache* c) const { nl_cache_free(c); }
void AddrDeleter::operator()(nl_addr* a) const { nl_addr_put(a); }
void IfAddrDeleter::operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
void LinkDeleter::operator()(rtnl_link* l) const { rtnl_link_put(l); }
void RouteDeleter::operator()(rtnl_route* r) const { rtnl_route_put(r); }

NetlinkAddr netlink_address(const config::Prefix& p) {
  int family = p.family == config::Family::V4 ? AF_INET : AF_INET6;
  NetlinkAddr a(nl_addr_build(family, p.addr.data(), static_cast<std::size_t>(p.byte_size())));
  if (a) nl_addr_set_prefixlen(a.get(), p.length);
  return a;
}

NetlinkSocket route_socket() {
  NetlinkSocket sock(nl_socket_alloc());
  if (!sock) throw std::system_error(ENOMEM, std::generic_category(), "netlink socket");
  if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
    throw std::system_error(EIO, std::generic_category(),
                            std::string("connecting to netlink: ") + nl_geterror(err));
  return sock;
}

}  // namespace sluice::net
