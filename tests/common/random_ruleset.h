// Random rulesets and packets for the differential tests and benchmarks.
// Addresses come from small pools so prefixes overlap and nest often.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "config/model.h"
#include "policy/reference_evaluator.h"

namespace sluice::testkit {

struct RulesetShape {
  std::size_t rules = 100;
  // Share of rules whose from/to is "any".
  double any_address = 0.3;
  // Address pool: how many /16s (IPv4) and /48s (IPv6) everything lives in.
  int v4_networks = 3;
  int v6_networks = 2;
  // /24s (IPv4) and /64s (IPv6) used inside each of those.
  int subnets = 8;
  // Share of rules (and chance per chain default) in audit mode.
  double audit = 0.1;
  // Interfaces (config.interfaces) rules may name in in_interface /
  // out_interface, each with this chance where the chain allows it.
  std::vector<std::string> interfaces;
  double interface_rules = 0.2;
};

config::Config random_ruleset(std::mt19937_64& rng, const RulesetShape& shape);

// Deep nesting: prefixes drawn from chains that nest down to the full
// depth of each family (a /0 or /3 down to /32, a /0 or /9 down to /128,
// most lengths present), with siblings branching off the chains and short
// chains below those, the same prefix named by many rules, lists mixing
// families, and shadowed rules (an earlier rule's match repeated later with
// another action).
struct NestedShape {
  std::size_t rules = 100;
  // Chains of nested prefixes per family; more with more rules, as lists
  // of cloud or country ranges grow with the policy.
  int v4_chains = 3;
  int v6_chains = 2;
  std::size_t rules_per_chain = 250;  // one more chain of each family per this many rules
  double level_kept = 0.8;            // chance a chain has a prefix at a given length
  double sibling = 0.25;              // chance a level of a chain grows a sibling
  double any_address = 0.15;
  double list = 0.15;    // endpoints naming 2-5 prefixes of both families
  double shadow = 0.05;  // rules repeating an earlier rule's match
  double audit = 0.05;
  std::vector<std::string> interfaces;  // as in RulesetShape
  double interface_rules = 0.2;
};

config::Config random_nested_ruleset(std::mt19937_64& rng, const NestedShape& shape);

// A packet for chain; biased towards addresses and ports the rules name,
// so that early, late and no-match cases all occur. For the input chain
// the destination is one of local, for output the source is. With
// config.interfaces, it arrives on one (input, forward) and leaves by one
// (forward, output).
policy::PacketHeaders random_packet(std::mt19937_64& rng, const config::Config& cfg,
                                    config::Chain chain, const std::vector<config::Prefix>& local);

// A few host addresses inside the pools, to serve as this host's.
std::vector<config::Prefix> random_local_addresses(std::mt19937_64& rng, const RulesetShape& shape);

}  // namespace sluice::testkit
