// Random rulesets and packets for the differential tests and benchmarks.
// Addresses come from small pools so prefixes overlap and nest often.
#pragma once

#include <cstdint>
#include <random>
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
};

config::Config random_ruleset(std::mt19937_64& rng, const RulesetShape& shape);

// A packet for chain; biased towards addresses and ports the rules name,
// so that early, late and no-match cases all occur. For the input chain
// the destination is one of local, for output the source is.
policy::PacketHeaders random_packet(std::mt19937_64& rng, const config::Config& cfg,
                                    config::Chain chain, const std::vector<config::Prefix>& local);

// A few host addresses inside the pools, to serve as this host's.
std::vector<config::Prefix> random_local_addresses(std::mt19937_64& rng, const RulesetShape& shape);

}  // namespace sluice::testkit
