#include "policy/scope_destinations.h"

#include <algorithm>
#include <cstring>

#include "policy/abi_values.h"
#include "policy/prefix_order.h"
#include "policy/rule_groups.h"

namespace sluice::policy {

using config::Family;
using config::Prefix;

namespace {

Prefix whole_family(Family f) {
  Prefix p;
  p.family = f;
  p.length = 0;
  return p;
}

}  // namespace

std::uint32_t ScopeDestinations::build(std::uint32_t scope, std::uint8_t context, Family f,
                                       const std::vector<std::uint32_t>& rules) {
  named_.clear();
  for (auto r : rules) {
    const auto& rule = rules_[r];
    if (rule.to.any) named_.push_back({whole_family(f), r});
    for (const auto& p : rule.to.prefixes)
      if (p.family == f) named_.push_back({p, r});
  }
  if (named_.empty()) return 0;
  std::sort(named_.begin(), named_.end(), [](const Named& a, const Named& b) {
    if (a.prefix != b.prefix) return prefix_less(a.prefix, b.prefix);
    return a.rule < b.rule;
  });
  if (build_table(scope, context, f, named_)) return SLUICE_LENGTH_SET_TABLE;
  auto table = build_longest_match(regions(named_));

  targets_.used += table.entries.size();
  for (const auto& n : named_) ++targets_.by_rule[n.rule];
  for (const auto& e : table.entries) {
    TargetEntry t;
    t.key.context = context;
    t.key.family = abi_family(f);
    t.key.prefixlen = e.prefix.length;
    t.key.scope = scope;
    std::memcpy(t.key.addr, e.prefix.addr.data(), 16);
    t.value.code = e.value;
    t.value.single = groups_.item_of(e.value);
    t.value.below = abi_span(e.below);
    out_.targets.push_back(t);
  }
  return length_set(table.lengths);
}

// The scope as a table, when it names few enough prefixes and the rules
// naming each decide in place: whether it did. named: in prefix order.
bool ScopeDestinations::build_table(std::uint32_t scope, std::uint8_t context, Family f,
                                    const std::vector<Named>& named) {
  std::size_t runs = 0;  // distinct prefixes; run_begin_[i]: the first of each
  for (std::size_t i = 0; i < named.size(); ++i) {
    if (i > 0 && named[i].prefix == named[i - 1].prefix) continue;
    if (runs == SLUICE_TABLE_ENTRIES) return false;
    run_begin_[runs++] = i;
  }
  if (runs == 1) return false;  // one target entry, no markers: as small
  for (std::size_t i = 0; i < runs; ++i) {
    auto& own = own_[i];
    own.clear();
    std::size_t end = i + 1 < runs ? run_begin_[i + 1] : named.size();
    for (auto j = run_begin_[i]; j < end; ++j)
      if (own.empty() || own.back() != named[j].rule) own.push_back(named[j].rule);
    if (!groups_.decides_inline(own)) return false;
  }
  auto& t = out_.tables.emplace_back();
  t.key.context = context;
  t.key.family = abi_family(f);
  t.key.scope = scope;
  for (std::size_t i = 0; i < runs; ++i) {
    auto& e = t.value.entry[t.value.count++];
    const Prefix& p = named[run_begin_[i]].prefix;
    std::memcpy(e.addr, p.addr.data(), 16);
    e.prefixlen = p.length;
    e.code = groups_.code_for(own_[i]);
    e.single = groups_.item_of(e.code);
  }
  ++tables_.used;
  for (const auto& n : named) ++tables_.by_rule[n.rule];
  return true;
}

// The distinct prefixes named, each with the group of rules matching its
// addresses: those naming it or a prefix containing it, in order, up to
// the first that matches all traffic. A prefix with the same group as the
// one containing it needs no entry: the search finds that one.
std::vector<MatchEntry> ScopeDestinations::regions(const std::vector<Named>& named) {
  std::vector<MatchEntry> out;
  if (named.size() == 1) {  // the common case, without the walk's buffers
    out.push_back({named[0].prefix, groups_.code_for({named[0].rule}), {}});
    return out;
  }
  // open_[0..depth): the prefixes containing the current one, with their
  // rules; the buffers are kept between calls.
  std::size_t depth = 0;
  std::vector<std::uint32_t> own;
  for (std::size_t begin = 0; begin < named.size();) {
    const Prefix& prefix = named[begin].prefix;
    own.clear();
    std::size_t end = begin;
    for (; end < named.size() && named[end].prefix == prefix; ++end)
      if (own.empty() || own.back() != named[end].rule) own.push_back(named[end].rule);
    begin = end;

    while (depth > 0 && !open_[depth - 1].prefix.contains(prefix)) --depth;
    if (open_.size() <= depth) open_.resize(depth + 1);
    Open& mine = open_[depth];
    mine.prefix = prefix;
    mine.rules.clear();
    if (depth == 0) {
      mine.rules = own;
    } else {
      const auto& outer = open_[depth - 1].rules;
      std::set_union(outer.begin(), outer.end(), own.begin(), own.end(),
                     std::back_inserter(mine.rules));
    }
    auto last = std::find_if(mine.rules.begin(), mine.rules.end(),
                             [&](std::uint32_t r) { return groups_.matches_all_traffic(r); });
    if (last != mine.rules.end()) mine.rules.erase(last + 1, mine.rules.end());
    if (depth > 0 && mine.rules == open_[depth - 1].rules) {
      mine.group = open_[depth - 1].group;
    } else {
      mine.group = groups_.code_for(mine.rules);
      out.push_back({prefix, mine.group, {}});
    }
    ++depth;
  }
  return out;
}

std::uint32_t ScopeDestinations::length_set(const std::vector<std::uint8_t>& lengths) {
  if (lengths.size() == 1 && single_length_sets_[lengths[0]])
    return single_length_sets_[lengths[0]];
  auto [it, added] =
      length_sets_.try_emplace(lengths, static_cast<std::uint32_t>(length_sets_.size() + 1));
  if (added) out_.length_sets.push_back({it->second, lengths});
  if (lengths.size() == 1) single_length_sets_[lengths[0]] = it->second;
  return it->second;
}

void ScopeDestinations::absorb(ScopeDestinations& other) {
  for (auto& t : other.out_.targets) out_.targets.push_back(t);
  other.out_.targets.clear();
  for (auto& t : other.out_.tables) out_.tables.push_back(t);
  other.out_.tables.clear();
  for (const auto& set : other.out_.length_sets) {
    if (other.absorbed_as_.size() <= set.id) other.absorbed_as_.resize(set.id + 1);
    other.absorbed_as_[set.id] = length_set(set.lengths);
  }
  other.out_.length_sets.clear();
}

std::uint32_t ScopeDestinations::final_id(std::uint32_t id) const {
  if (id == 0 || id == SLUICE_LENGTH_SET_TABLE || absorbed_as_.empty()) return id;
  return absorbed_as_.at(id);
}

}  // namespace sluice::policy
