#include "policy/source_scopes.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "policy/compiled_policy.h"
#include "policy/index_list_hash.h"
#include "policy/prefix_order.h"

namespace sluice::policy {

namespace {

// A distinct prefix named in `from`, in prefix_less order (a prefix
// before the prefixes inside it).
struct Region {
  config::Prefix prefix;
  int parent = -1;                 // closest region containing it
  std::vector<std::uint32_t> own;  // rules naming it and no region around it
  std::size_t size = 1;            // regions inside it, itself included
  std::size_t height = 1;          // regions on the longest chain from it down, itself included
  bool cut = false;
  std::size_t cuts_around = 0;      // cuts containing it, itself excluded
  int last_cut = -1;                // the closest cut containing it
  std::size_t since_cut = 1;        // regions from that cut (or the top) down to it
  std::vector<std::uint32_t> tail;  // own rules and those of the regions up to the closest cut
  sluice_class_value value{};
};

// The regions, each with its parent and the rules it adds to the ones
// already matching around it.
std::vector<Region> regions_of(const std::vector<config::Rule>& all,
                               const std::vector<std::uint32_t>& rules) {
  struct Named {
    config::Prefix prefix;
    std::uint32_t rule;
  };
  std::vector<Named> named;
  for (auto i : rules)
    for (const auto& p : all[i].from.prefixes) named.push_back({p, i});
  std::sort(named.begin(), named.end(), [](const Named& a, const Named& b) {
    if (a.prefix != b.prefix) return prefix_less(a.prefix, b.prefix);
    return a.rule < b.rule;
  });

  std::vector<Region> out;
  std::vector<std::uint32_t> active(all.size());  // rules of the open regions
  std::vector<int> open;
  for (std::size_t begin = 0; begin < named.size();) {
    Region r;
    r.prefix = named[begin].prefix;
    while (!open.empty() && !out[static_cast<std::size_t>(open.back())].prefix.contains(r.prefix)) {
      for (auto rule : out[static_cast<std::size_t>(open.back())].own) --active[rule];
      open.pop_back();
    }
    r.parent = open.empty() ? -1 : open.back();
    for (; begin < named.size() && named[begin].prefix == r.prefix; ++begin) {
      auto rule = named[begin].rule;
      if (active[rule] == 0 && (r.own.empty() || r.own.back() != rule)) r.own.push_back(rule);
    }
    for (auto rule : r.own) ++active[rule];
    open.push_back(static_cast<int>(out.size()));
    out.push_back(std::move(r));
  }
  // Children follow their parent: sizes add up walking backwards.
  for (std::size_t i = out.size(); i-- > 0;) {
    if (out[i].parent < 0) continue;
    auto& parent = out[static_cast<std::size_t>(out[i].parent)];
    parent.size += out[i].size;
    parent.height = std::max(parent.height, out[i].height + 1);
  }
  return out;
}

// Whether r becomes a cut: it has enough prefixes inside to be worth a
// lookup of its own, cuts are left for its chain, and it is about as far
// below the last cut as the remaining cuts, spread evenly over the chain
// below that cut, would put it. Evenly spread cuts split a chain of n
// nested prefixes with rules into pieces of n / SLUICE_MAX_SOURCE_SCOPES,
// and each piece copies only its own prefixes' rules down.
bool is_cut(const Region& r, const Region* cut_above) {
  std::size_t left = SLUICE_MAX_SOURCE_SCOPES - 1 - r.cuts_around;
  if (r.size < SourceScopes::kCutSize || left == 0) return false;
  std::size_t chain = cut_above ? cut_above->height - 1 : r.height + r.since_cut - 1;
  return r.since_cut * (left + 1) >= chain;
}

}  // namespace

SourceScopes::SourceScopes(const std::vector<config::Rule>& all,
                           const std::vector<std::uint32_t>& rules, std::uint32_t first_id)
    : first_id_(first_id) {
  auto regions = regions_of(all, rules);
  // Interned lists; lists of one (the common case) by their one element,
  // which spares a hash table node each.
  std::unordered_map<std::vector<std::uint32_t>, std::uint32_t, IndexListHash> scope_ids;
  std::vector<std::uint32_t> scope_of_rule(all.size());
  auto scope_of = [&](const std::vector<std::uint32_t>& list) {
    auto next = static_cast<std::uint32_t>(first_id_ + scopes_.size() + 1);
    std::uint32_t* id;
    if (list.size() == 1) {
      id = &scope_of_rule[list[0]];
      if (*id == 0) *id = next;
    } else {
      id = &scope_ids.try_emplace(list, next).first->second;
    }
    if (*id == next) scopes_.push_back({list, 0});
    return *id;
  };
  std::unordered_map<std::vector<std::uint32_t>, std::uint32_t, IndexListHash> value_ids;
  std::vector<std::uint32_t> value_key, value_of_scope;

  for (auto& r : regions) {
    const Region* parent = r.parent < 0 ? nullptr : &regions[static_cast<std::size_t>(r.parent)];
    // The cuts around r, with the scope each holds, then r's tail.
    r.cuts_around = parent ? parent->cuts_around + (parent->cut ? 1 : 0) : 0;
    if (parent) {
      r.last_cut = parent->cut ? r.parent : parent->last_cut;
      r.since_cut = parent->cut ? 1 : parent->since_cut + 1;
    }
    r.cut = is_cut(r, r.last_cut < 0 ? nullptr : &regions[static_cast<std::size_t>(r.last_cut)]);
    if (parent && !parent->cut) {
      std::set_union(parent->tail.begin(), parent->tail.end(), r.own.begin(), r.own.end(),
                     std::back_inserter(r.tail));
    } else {
      r.tail = r.own;
    }
    if (parent) {
      r.value = parent->value;
      // The parent's tail scope (its last) is only the parent's own
      // business unless the parent is a cut.
      if (!parent->cut && !parent->tail.empty()) --r.value.count;
    }
    if (!r.tail.empty()) r.value.scope[r.value.count++].scope = scope_of(r.tail);

    unsigned slot = static_cast<unsigned>(family_slot(r.prefix.family));
    for (std::uint32_t i = 0; i < r.value.count; ++i)
      scopes_[r.value.scope[i].scope - first_id_ - 1].families |= 1u << slot;
    if (parent && std::memcmp(&r.value, &parent->value, sizeof r.value) == 0)
      continue;  // the parent's entry, which the search finds, says the same
    auto next = static_cast<std::uint32_t>(values_.size() + 1);
    std::uint32_t* id;
    if (r.value.count == 1) {
      auto scope = r.value.scope[0].scope - first_id_ - 1;
      if (value_of_scope.size() <= scope) value_of_scope.resize(scope + 1);
      id = &value_of_scope[scope];
      if (*id == 0) *id = next;
    } else {
      value_key.clear();
      for (std::uint32_t i = 0; i < r.value.count; ++i) value_key.push_back(r.value.scope[i].scope);
      id = &value_ids.try_emplace(value_key, next).first->second;
    }
    if (*id == next) values_.push_back(r.value);
    prefixes_[slot].push_back({r.prefix, *id, {}});
  }
}

}  // namespace sluice::policy
