// Static routes from the config, installed with netlink. Every route sluice
// adds carries its own route protocol number, so reconciling removes only
// what sluice added and never touches anyone else's routes.
#pragma once

#include <string>
#include <vector>

#include "config/model.h"
#include "net/changes.h"

namespace sluice::net {

// rtm_protocol of sluice's routes (`ip route show proto 83`).
inline constexpr int kRouteProtocol = 83;

// Makes the main table's sluice routes exactly `routes`: adds the missing,
// replaces sluice's own routes that changed, removes sluice's routes no
// longer configured. A destination someone else already routes is left
// alone and reported.
Changes reconcile_routes(const std::vector<config::Route>& routes);

// Sets IPv4 and IPv6 forwarding for this network namespace. Returns an
// error message, empty on success.
std::string set_forwarding(bool on);

}  // namespace sluice::net
