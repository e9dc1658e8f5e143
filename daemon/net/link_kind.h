// What kind of device an interface is ("veth", "bridge", ... from
// IFLA_INFO_KIND; empty for plain hardware NICs), read over netlink.
#pragma once

#include <string>

namespace sluice::net {

// Empty when the interface has no kind or cannot be read.
std::string link_kind(int ifindex);

}  // namespace sluice::net
