#include "policy/reference_evaluator.h"

namespace sluice::policy {

namespace {

bool endpoint_matches(const config::Endpoint& ep, const std::array<std::uint8_t, 16>& addr,
                      config::Family family) {
  if (ep.any) return true;
  for (const auto& p : ep.prefixes)
    if (p.contains_address(addr, family)) return true;
  return false;
}

bool interface_matches(const std::vector<std::string>& names, const std::string& name) {
  if (names.empty()) return true;
  for (const auto& n : names)
    if (n == name) return true;
  return false;
}

bool rule_matches(const config::Rule& r, const PacketHeaders& pkt) {
  if (!interface_matches(r.in_interfaces, pkt.in_interface)) return false;
  if (!interface_matches(r.out_interfaces, pkt.out_interface)) return false;
  if (!endpoint_matches(r.from, pkt.src, pkt.family)) return false;
  if (!endpoint_matches(r.to, pkt.dst, pkt.family)) return false;
  if (r.proto != config::Protocol::Any && static_cast<std::uint8_t>(r.proto) != pkt.proto)
    return false;
  if (!r.ports.empty()) {
    bool hit = false;
    for (const auto& range : r.ports)
      if (pkt.dport >= range.first && pkt.dport <= range.last) hit = true;
    if (!hit) return false;
  }
  if (r.icmp_type && *r.icmp_type != pkt.icmp_type) return false;
  return true;
}

}  // namespace

Verdict evaluate(const config::Config& cfg, config::Chain chain, const PacketHeaders& pkt) {
  for (std::size_t i = 0; i < cfg.rules.size(); ++i) {
    const auto& r = cfg.rules[i];
    if (r.chain == chain && rule_matches(r, pkt)) return {i, r.action, r.audit};
  }
  int c = static_cast<int>(chain);
  return {std::nullopt, cfg.chain_defaults[c], cfg.chain_audit[c]};
}

}  // namespace sluice::policy
