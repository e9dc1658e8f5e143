// Other packet filters on this host (iptables, nftables, Docker's chains)
// that may judge the same traffic as sluice: found at start so the
// operator is told, by name, instead of wondering why a flow sluice
// allows is still dropped.
#pragma once

#include <string>
#include <vector>

namespace sluice::net {

// One line per finding, e.g. "iptables filter FORWARD: 3 rules, policy
// DROP". Empty when nothing is found or the tools are not installed.
std::vector<std::string> foreign_firewalls();

// The findings in iptables-save and `nft list ruleset` output (exposed for
// tests).
std::vector<std::string> parse_iptables_save(const std::string& text, const std::string& tool);
std::vector<std::string> parse_nft_ruleset(const std::string& text);

}  // namespace sluice::net
