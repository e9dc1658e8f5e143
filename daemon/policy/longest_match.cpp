#include "policy/longest_match.h"

#include <algorithm>
#include <array>

#include "policy/prefix_order.h"

namespace sluice::policy {

LongestMatchTable build_longest_match(std::vector<MatchEntry> prefixes) {
  LongestMatchTable out;
  if (prefixes.size() == 1) {  // the common case: one length, no markers
    out.lengths = {prefixes[0].prefix.length};
    out.entries = std::move(prefixes);
    return out;
  }
  auto by_prefix = [](const MatchEntry& a, const MatchEntry& b) {
    return prefix_less(a.prefix, b.prefix);
  };
  std::sort(prefixes.begin(), prefixes.end(), by_prefix);

  std::array<int, 129> index_of{};  // length -> its index in out.lengths
  std::array<bool, 129> present{};
  for (const auto& e : prefixes) present[e.prefix.length] = true;
  for (int len = 0; len <= 128; ++len)
    if (present[len]) {
      index_of[len] = static_cast<int>(out.lengths.size());
      out.lengths.push_back(static_cast<std::uint8_t>(len));
    }

  // The markers: where the search for each prefix's length turns longer.
  std::vector<MatchEntry> markers;
  const int n = static_cast<int>(out.lengths.size());
  for (const auto& e : prefixes) {
    int target = index_of[e.prefix.length], lo = 0, hi = n - 1;
    while (lo <= hi) {
      int mid = search_midpoint(lo, hi);
      if (mid == target) break;
      if (mid < target) {
        config::Prefix m = e.prefix;
        m.length = out.lengths[static_cast<std::size_t>(mid)];
        markers.push_back({config::masked(m), 0});
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
  }
  std::sort(markers.begin(), markers.end(), by_prefix);
  markers.erase(
      std::unique(markers.begin(), markers.end(),
                  [](const MatchEntry& a, const MatchEntry& b) { return a.prefix == b.prefix; }),
      markers.end());

  // Each marker takes the value of the longest real prefix containing it;
  // a marker that is itself a real prefix is that prefix's entry already.
  std::vector<const MatchEntry*> open;
  auto real = prefixes.begin();
  out.entries = prefixes;
  for (const auto& m : markers) {
    for (; real != prefixes.end() && !prefix_less(m.prefix, real->prefix); ++real) {
      while (!open.empty() && !open.back()->prefix.contains(real->prefix)) open.pop_back();
      open.push_back(&*real);
    }
    while (!open.empty() && !open.back()->prefix.contains(m.prefix)) open.pop_back();
    if (!open.empty() && open.back()->prefix == m.prefix) continue;
    out.entries.push_back({m.prefix, open.empty() ? 0 : open.back()->value});
  }
  return out;
}

}  // namespace sluice::policy
