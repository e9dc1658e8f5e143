// The VXLAN device of Kubernetes mode's tunnel ([kubernetes] tunnel =
// "vxlan"): sluice.vxlan, VNI 4242 on UDP 4789, learning off. Each peer
// node is reached by a static neighbour (its tunnel address -> its
// device's MAC) and a forwarding entry (that MAC -> its InternalIP). A
// device's MAC is made from its node's InternalIP (02:53 and the four
// bytes), so nodes need not tell each other their MACs. Routes (onlink,
// via the peers' tunnel addresses) and the device's address are the
// routes' and addresses' reconcilers'. docs/kubernetes.md, "Nodes".
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "config/model.h"
#include "net/changes.h"

namespace sluice::net {

inline constexpr std::uint32_t kVxlanId = 4242;
inline constexpr std::uint16_t kVxlanPort = 4789;

// The MAC of the tunnel device of the node with this (IPv4) InternalIP.
std::array<std::uint8_t, 6> vxlan_mac(const config::Prefix& underlay);

// Makes the device match tunnel: made (or made again when what it was made
// for changed) with its peers' entries; removed when tunnel is empty.
Changes reconcile_vxlan(const std::optional<config::VxlanTunnel>& tunnel);

}  // namespace sluice::net
