// The routing that delivers packets steered to the L7 proxy on this host
// (docs/l7.md): an ip rule sending SLUICE_PROXY_MARK to a table of its own
// whose one route, for IPv4 and IPv6, is "local" via lo. Without it the
// kernel would forward a steered packet for another host (and drop it,
// since it belongs to a socket).
#pragma once

#include <string>

namespace sluice::net {

inline constexpr int kProxyTable = 0x51c7;  // 20935
inline constexpr int kProxyRulePriority = 90;

// Adds (or keeps) the rules and routes. Returns problems, "" when fine.
std::string install_proxy_routing();
// Removes them; nothing when absent. Returns problems, "" when fine.
std::string remove_proxy_routing();

}  // namespace sluice::net
