#include "net/link_stats.h"

#include <netlink/route/link.h>

#include <system_error>

#include "net/netlink.h"

namespace sluice::net {

std::optional<LinkStats> link_stats(const std::string& name) {
  try {
    NetlinkSocket sock = route_socket();
    rtnl_link* link = nullptr;
    if (rtnl_link_get_kernel(sock.get(), 0, name.c_str(), &link) < 0 || !link) return std::nullopt;
    LinkStats s;
    s.rx_packets = rtnl_link_get_stat(link, RTNL_LINK_RX_PACKETS);
    s.rx_bytes = rtnl_link_get_stat(link, RTNL_LINK_RX_BYTES);
    s.rx_dropped = rtnl_link_get_stat(link, RTNL_LINK_RX_DROPPED);
    s.tx_packets = rtnl_link_get_stat(link, RTNL_LINK_TX_PACKETS);
    s.tx_bytes = rtnl_link_get_stat(link, RTNL_LINK_TX_BYTES);
    s.tx_dropped = rtnl_link_get_stat(link, RTNL_LINK_TX_DROPPED);
    rtnl_link_put(link);
    return s;
  } catch (const std::system_error&) {
    return std::nullopt;
  }
}

}  // namespace sluice::net
