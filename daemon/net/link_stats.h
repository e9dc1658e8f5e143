// An interface's packet, byte and drop counters, read over netlink (so
// they are the counters of the network namespace sluiced runs in, whatever
// /sys shows).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sluice::net {

struct LinkStats {
  std::uint64_t rx_packets = 0, rx_bytes = 0, rx_dropped = 0;
  std::uint64_t tx_packets = 0, tx_bytes = 0, tx_dropped = 0;
};

// nullopt when there is no such interface.
std::optional<LinkStats> link_stats(const std::string& name);

}  // namespace sluice::net
