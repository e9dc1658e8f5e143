// Longest-prefix match with hash probes: the entries a binary search over
// prefix lengths needs (Waldvogel, Varghese, Turner, Plattner, "Scalable
// High Speed IP Routing Lookups", 1997). bpf/lib/policy.h runs the search.
//
// The search over the lengths present, shortest first: probe the middle
// length; a hit means the answer is that entry's value or something longer,
// a miss that it is shorter. For that, every prefix leaves a *marker* at
// each length where the search turns towards it, and every marker carries
// the value of the longest real prefix containing it (none: 0). At most
// ceil(log2(lengths + 1)) probes, at most that many markers per prefix.
#pragma once

#include <cstdint>
#include <vector>

#include "config/address.h"

namespace sluice::policy {

struct MatchEntry {
  config::Prefix prefix;
  std::uint32_t value = 0;  // 0 only for a marker inside no real prefix
};

struct LongestMatchTable {
  std::vector<std::uint8_t> lengths;  // present, shortest first
  std::vector<MatchEntry> entries;    // the prefixes, then the markers not also prefixes
};

// The midpoint the search probes between indexes lo and hi of the lengths:
// the datapath computes it the same way.
inline int search_midpoint(int lo, int hi) { return (lo + hi) >> 1; }

// `prefixes`: distinct, one family, values non-zero.
LongestMatchTable build_longest_match(std::vector<MatchEntry> prefixes);

}  // namespace sluice::policy
