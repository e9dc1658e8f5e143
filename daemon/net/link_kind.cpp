#include "net/link_kind.h"

#include <netlink/route/link.h>

#include <system_error>

#include "net/netlink.h"

namespace sluice::net {

std::string link_kind(int ifindex) {
  try {
    NetlinkSocket sock = route_socket();
    rtnl_link* link = nullptr;
    if (rtnl_link_get_kernel(sock.get(), ifindex, nullptr, &link) < 0 || !link) return {};
    const char* kind = rtnl_link_get_type(link);
    std::string out = kind ? kind : "";
    rtnl_link_put(link);
    return out;
  } catch (const std::system_error&) {
    return {};
  }
}

}  // namespace sluice::net
