// The NAT part of the config as datapath map entries (pure, no I/O): the
// masquerade address of each managed interface, the sources masqueraded
// out of each, and the port forwards by public address. Interfaces are
// given by the caller, with their index and current addresses, since NAT
// follows the addresses the interfaces have right now.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/model.h"
#include "sluice/abi.h"

namespace sluice::policy {

struct InterfaceState {
  std::string name;
  std::uint32_t ifindex = 0;
  std::vector<config::Prefix> addresses;  // host addresses with their subnet length
};

struct NatTables {
  std::vector<std::pair<sluice_iface_addr_key, sluice_iface_addr>> iface_addrs;
  std::vector<sluice_masq_source_key> masq_sources;
  std::vector<std::pair<sluice_port_forward_key, sluice_port_forward>> port_forwards;
  bool operator==(const NatTables&) const;
};

// Interfaces not in `interfaces` (not present) get no entries. An
// interface's masquerade address is its first address of the family that
// is not link-local.
NatTables compile_nat(const config::Config& cfg, const std::vector<InterfaceState>& interfaces);

}  // namespace sluice::policy
