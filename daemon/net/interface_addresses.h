// Interface addresses from the config ([[interface]] addresses), installed
// with netlink. Every address sluice adds carries its own address protocol
// (IFA_PROTO), so reconciling removes only what sluice added: an address
// an operator or DHCP put on an interface is never touched.
#pragma once

#include <string>
#include <vector>

#include "config/model.h"
#include "net/changes.h"

namespace sluice::net {

// IFA_PROTO of sluice's addresses; the same number as its routes.
inline constexpr int kAddressProtocol = 83;

// Makes sluice's addresses exactly the configured ones on the interfaces
// that exist: adds the missing, removes sluice's addresses no longer
// configured (or configured with another prefix length). An address that
// is already there but not sluice's is left as it is and counted as kept.
// Interfaces that do not exist yet are skipped; call again when they
// appear.
Changes reconcile_interface_addresses(const std::vector<config::Interface>& interfaces);

}  // namespace sluice::net
