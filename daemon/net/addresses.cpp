#include "net/addresses.h"

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/route/addr.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>
#include <system_error>

namespace sluice::net {

namespace {

struct SocketDeleter {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct CacheDeleter {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};

[[noreturn]] void fail(int nl_err, const char* what) {
  throw std::system_error(EIO, std::generic_category(),
                          std::string(what) + ": " + nl_geterror(nl_err));
}

}  // namespace

std::vector<datapath::LocalAddress> local_addresses() {
  std::unique_ptr<nl_sock, SocketDeleter> sock(nl_socket_alloc());
  if (!sock) throw std::system_error(ENOMEM, std::generic_category(), "netlink socket");
  if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0) fail(err, "connecting to netlink");

  nl_cache* raw = nullptr;
  if (int err = rtnl_addr_alloc_cache(sock.get(), &raw); err < 0) fail(err, "reading addresses");
  std::unique_ptr<nl_cache, CacheDeleter> cache(raw);

  std::vector<datapath::LocalAddress> out;
  for (nl_object* obj = nl_cache_get_first(cache.get()); obj; obj = nl_cache_get_next(obj)) {
    auto* addr = reinterpret_cast<rtnl_addr*>(obj);
    nl_addr* local = rtnl_addr_get_local(addr);
    if (!local) continue;
    datapath::LocalAddress a;
    int family = nl_addr_get_family(local);
    unsigned len = nl_addr_get_len(local);
    if (family == AF_INET && len == 4) {
      a.family = config::Family::V4;
    } else if (family == AF_INET6 && len == 16) {
      a.family = config::Family::V6;
    } else {
      continue;
    }
    std::memcpy(a.addr.data(), nl_addr_get_binary_addr(local), len);
    out.push_back(a);
  }
  return out;
}

}  // namespace sluice::net
