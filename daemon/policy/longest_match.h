// Longest-prefix match with hash probes: the entries a binary search over
// prefix lengths needs (Waldvogel, Varghese, Turner, Plattner, "Scalable
// High Speed IP Routing Lookups", 1997). bpf/lib/policy.h runs the search.
//
// The search over the lengths present, shortest first: a hit means the
// answer is that entry's value or something longer, a miss that it is
// shorter. For that, every prefix leaves a *marker* at each length where
// the search turns towards it, and every marker carries the value of the
// longest real prefix containing it (none: 0).
//
// Two refinements keep an address in a sparse region cheap whatever else
// the ruleset names: the first probe is the shortest length (past /0),
// where an address inside no prefix misses at once; and every entry
// carries the span of lengths of the real prefixes inside it, so that a
// hit narrows the rest of the search to them (after a hit on a marker
// above a lone host route, one more probe). At most SLUICE_MAX_SEARCH_STEPS
// probes, at most that many markers per prefix.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "config/address.h"
#include "sluice/abi.h"

namespace sluice::policy {

// Indexes into the search's lengths (struct sluice_search_span).
struct SearchSpan {
  std::uint8_t first = SLUICE_SPAN_NONE_FIRST;
  std::uint8_t last = 0;
};

inline sluice_search_span abi_span(SearchSpan s) { return {s.first, s.last, {0, 0}}; }

struct MatchEntry {
  config::Prefix prefix;
  std::uint32_t value = 0;  // 0 only for a marker inside no real prefix
  SearchSpan below;         // filled in by build_longest_match
};

struct LongestMatchTable {
  std::vector<std::uint8_t> lengths;  // present, shortest first
  std::vector<MatchEntry> entries;    // the prefixes, then the markers not also prefixes
};

// The index the search probes at `step` between indexes lo and hi of the
// lengths: first the shortest (a /0 always matches, so the one after it),
// then the middle. The datapath computes it the same way.
inline int search_midpoint(unsigned step, int lo, int hi,
                           const std::vector<std::uint8_t>& lengths) {
  if (step > 0) return (lo + hi) >> 1;
  return lengths[static_cast<std::size_t>(lo)] == 0 && lo < hi ? lo + 1 : lo;
}

// The datapath's search over `lengths`: probe(length, below) says whether
// the address has an entry at that length, and on a hit sets its span.
template <typename Probe>
void longest_match_search(const std::vector<std::uint8_t>& lengths, Probe probe) {
  int lo = 0, hi = static_cast<int>(lengths.size()) - 1;
  for (unsigned step = 0; step < SLUICE_MAX_SEARCH_STEPS && lo <= hi; ++step) {
    int mid = search_midpoint(step, lo, hi, lengths);
    SearchSpan below;
    if (probe(lengths[static_cast<std::size_t>(mid)], below)) {
      lo = std::max(mid + 1, static_cast<int>(below.first));
      hi = std::min(hi, static_cast<int>(below.last));
    } else {
      hi = mid - 1;
    }
  }
}

// `prefixes`: distinct, one family, values non-zero.
LongestMatchTable build_longest_match(std::vector<MatchEntry> prefixes);

}  // namespace sluice::policy
