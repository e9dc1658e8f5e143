#include "policy/longest_match.h"

#include <array>

#include "policy/prefix_order.h"

namespace sluice::policy {

namespace {

// The bits of a 64-bit word from (most significant) position `from` on.
std::uint64_t bits_from(int from) { return from >= 64 ? 0 : ~std::uint64_t{0} >> from; }

// The last address of a prefix, as address_words().
std::pair<std::uint64_t, std::uint64_t> last_address(const config::Prefix& p) {
  auto [hi, lo] = address_words(p);
  int len = p.length, max = p.max_length();
  auto host = [](int from, int to) {
    return bits_from(std::clamp(from, 0, 64)) & ~bits_from(std::clamp(to, 0, 64));
  };
  return {hi | host(len, max), lo | host(len - 64, max - 64)};
}

// The span of lengths of the real prefixes strictly inside any prefix. In
// prefix order the prefixes inside one form a run right after it, so a
// span is the least and greatest length index over a run: a sparse table
// answers each in constant time.
class SpanIndex {
 public:
  SpanIndex(const std::vector<MatchEntry>& sorted, const std::array<int, 129>& index_of)
      : sorted_(sorted) {
    std::vector<std::uint8_t> level(sorted.size());
    for (std::size_t i = 0; i < sorted.size(); ++i)
      level[i] = static_cast<std::uint8_t>(index_of[sorted[i].prefix.length]);
    least_.push_back(level);
    most_.push_back(std::move(level));
    for (std::size_t width = 2; width <= sorted.size(); width *= 2) {
      const auto &lower_least = least_.back(), &lower_most = most_.back();
      std::size_t n = sorted.size() - width + 1, half = width / 2;
      std::vector<std::uint8_t> least(n), most(n);
      for (std::size_t i = 0; i < n; ++i) {
        least[i] = std::min(lower_least[i], lower_least[i + half]);
        most[i] = std::max(lower_most[i], lower_most[i + half]);
      }
      least_.push_back(std::move(least));
      most_.push_back(std::move(most));
    }
  }

  SearchSpan below(const config::Prefix& p) const {
    auto first = std::lower_bound(
        sorted_.begin(), sorted_.end(), p,
        [](const MatchEntry& e, const config::Prefix& q) { return prefix_less(e.prefix, q); });
    if (first != sorted_.end() && first->prefix == p) ++first;
    auto end = last_address(p);
    auto last = std::partition_point(
        first, sorted_.end(), [&](const MatchEntry& e) { return address_words(e.prefix) <= end; });
    SearchSpan span;
    if (first == last) return span;
    auto l = static_cast<std::size_t>(first - sorted_.begin());
    auto r = static_cast<std::size_t>(last - sorted_.begin());
    std::size_t level = 0;
    while ((std::size_t{2} << level) <= r - l) ++level;
    std::size_t other = r - (std::size_t{1} << level);
    span.first = std::min(least_[level][l], least_[level][other]);
    span.last = std::max(most_[level][l], most_[level][other]);
    return span;
  }

 private:
  const std::vector<MatchEntry>& sorted_;
  // [level][i]: least / greatest length index over sorted_[i, i + 2^level).
  std::vector<std::vector<std::uint8_t>> least_, most_;
};

}  // namespace

LongestMatchTable build_longest_match(std::vector<MatchEntry> prefixes) {
  LongestMatchTable out;
  if (prefixes.size() == 1) {  // the common case: one length, no markers
    out.lengths = {prefixes[0].prefix.length};
    out.entries = std::move(prefixes);
    out.entries[0].below = {};
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
  SpanIndex spans(prefixes, index_of);
  for (auto& e : prefixes) e.below = spans.below(e.prefix);

  // The markers: where the search for each prefix's length turns longer.
  // Neighbours in prefix order mostly share them: the last marker made at
  // each length is kept with its span.
  std::vector<MatchEntry> markers;
  std::array<MatchEntry, 129> last_marker{};
  std::array<bool, 129> have_last{};
  for (const auto& e : prefixes) {
    longest_match_search(out.lengths, [&](std::uint8_t len, SearchSpan& below) {
      if (len >= e.prefix.length) {
        below = {};  // found (the search for e ends) or too long (a miss)
        return len == e.prefix.length;
      }
      config::Prefix m = e.prefix;
      m.length = len;
      m = config::masked(m);
      if (!have_last[len] || last_marker[len].prefix != m) {
        last_marker[len] = {m, 0, spans.below(m)};
        have_last[len] = true;
        markers.push_back(last_marker[len]);
      }
      below = last_marker[len].below;
      return true;
    });
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
    out.entries.push_back({m.prefix, open.empty() ? 0 : open.back()->value, m.below});
  }
  return out;
}

}  // namespace sluice::policy
