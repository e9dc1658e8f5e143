#include "net/netlink.h"

#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/socket.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace sluice::net {

void SocketDeleter::operator()(nl_sock* s) const { nl_socket_free(s); }
void CacheDeleter::operator()(nl_cache* c) const { nl_cache_free(c); }

NetlinkSocket route_socket() {
  NetlinkSocket sock(nl_socket_alloc());
  if (!sock) throw std::system_error(ENOMEM, std::generic_category(), "netlink socket");
  if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
    throw std::system_error(EIO, std::generic_category(),
                            std::string("connecting to netlink: ") + nl_geterror(err));
  return sock;
}

}  // namespace sluice::net
