#include "policy/proxy_slots.h"

#include <set>

#include "policy/compiler.h"
#include "sluice/abi.h"

namespace sluice::policy {

ProxySlots assign_proxy_slots(config::Config& cfg, const ProxySlots& previous) {
  ProxySlots slots;
  std::set<std::uint16_t> taken;  // by the live ruleset, or given out here
  for (const auto& [name, slot] : previous) taken.insert(slot);
  std::uint16_t next = 1;
  for (std::size_t i = 0; i < cfg.rules.size(); ++i) {
    auto& rule = cfg.rules[i];
    rule.proxy_slot = 0;
    if (!rule.l7) continue;
    if (auto kept = previous.find(rule.name); kept != previous.end()) {
      rule.proxy_slot = kept->second;
    } else {
      while (next < SLUICE_MAX_PROXY_SLOTS && taken.count(next)) ++next;
      if (next >= SLUICE_MAX_PROXY_SLOTS)
        throw CapacityError("more HTTP/TLS rules than the proxy has listeners for (" +
                                std::to_string(SLUICE_MAX_PROXY_SLOTS - 1) +
                                ", counting the rules of the live ruleset)",
                            i);
      rule.proxy_slot = next;
      taken.insert(next);
    }
    slots[rule.name] = rule.proxy_slot;
  }
  return slots;
}

}  // namespace sluice::policy
