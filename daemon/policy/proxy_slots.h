// Proxy slots (sluice/abi.h, docs/l7.md): the listener each L7 rule's
// flows are handed to. A rule keeps its slot across applies while its name
// stays, so that a flow the previous ruleset steered still finds its rule's
// listener, and a new rule never takes a slot the live ruleset uses.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "config/model.h"

namespace sluice::policy {

using ProxySlots = std::map<std::string, std::uint16_t>;  // rule name -> slot

// Sets proxy_slot on every L7 rule of cfg (others get 0) and returns the
// slots of cfg. previous: the slots of the live ruleset. Throws
// CapacityError (compiler.h) when the rules need more slots than there
// are.
ProxySlots assign_proxy_slots(config::Config& cfg, const ProxySlots& previous);

}  // namespace sluice::policy
