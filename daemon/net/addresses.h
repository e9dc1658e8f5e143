// The addresses this host owns, read over netlink (libnl). They decide
// which chain a packet belongs to: input (to one of them), output (from
// one), forward (neither).
#pragma once

#include <vector>

#include "datapath/datapath.h"

namespace sluice::net {

// Every IPv4 and IPv6 address on every interface of the current network
// namespace. Throws std::system_error when netlink cannot be read.
std::vector<datapath::LocalAddress> local_addresses();

}  // namespace sluice::net
