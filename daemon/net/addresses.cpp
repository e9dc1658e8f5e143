#include "net/addresses.h"

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/route/addr.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cstring>
#include <system_error>

#include "net/netlink.h"

namespace sluice::net {

namespace {

[[noreturn]] void fail(int nl_err, const char* what) {
  throw std::system_error(EIO, std::generic_category(),
                          std::string(what) + ": " + nl_geterror(nl_err));
}

}  // namespace

std::vector<HostAddress> local_addresses() {
  NetlinkSocket sock = route_socket();
  nl_cache* raw = nullptr;
  if (int err = rtnl_addr_alloc_cache(sock.get(), &raw); err < 0) fail(err, "reading addresses");
  NetlinkCache cache(raw);

  std::vector<HostAddress> out;
  for (nl_object* obj = nl_cache_get_first(cache.get()); obj; obj = nl_cache_get_next(obj)) {
    auto* addr = reinterpret_cast<rtnl_addr*>(obj);
    nl_addr* local = rtnl_addr_get_local(addr);
    if (!local) continue;
    HostAddress a;
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
    a.ifindex = static_cast<std::uint32_t>(rtnl_addr_get_ifindex(addr));
    a.prefix_length = static_cast<std::uint8_t>(rtnl_addr_get_prefixlen(addr));
    out.push_back(a);
  }
  return out;
}

}  // namespace sluice::net
