// The addresses this host owns, read over netlink (libnl). They decide
// which chain a packet belongs to: input (to one of them), output (from
// one), forward (neither).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "config/address.h"

namespace sluice::net {

struct HostAddress {
  config::Family family = config::Family::V4;
  std::array<std::uint8_t, 16> addr{};  // IPv4 in the first 4 bytes
  std::uint32_t ifindex = 0;
  std::uint8_t prefix_length = 0;  // of the subnet the address is on
};

// Every IPv4 and IPv6 address on every interface of the current network
// namespace. Throws std::system_error when netlink cannot be read.
std::vector<HostAddress> local_addresses();

}  // namespace sluice::net
