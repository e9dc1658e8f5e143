#include "policy/rule_groups.h"

#include <algorithm>
#include <cstring>
#include <tuple>

#include "policy/abi_values.h"
#include "policy/port_prefixes.h"

namespace sluice::policy {

// What one rule says about protocol and port: a protocol and a port range
// (ICMP: type << 8 | code), one item per range.
struct RuleGroups::Item {
  std::uint8_t proto = 0;  // 0: any
  std::uint16_t first = 0;
  std::uint16_t last = 0xffff;
  sluice_decision decision{};
};

namespace {

std::vector<RuleGroups::Item> rule_items(const config::Rule& r, std::uint32_t index);

// Whether an earlier item matches every packet `item` matches: then the
// item never decides.
bool covered(const std::vector<RuleGroups::Item>& earlier, const RuleGroups::Item& item) {
  for (const auto& e : earlier)
    if ((e.proto == 0 || e.proto == item.proto) && e.first <= item.first && item.last <= e.last)
      return true;
  return false;
}

}  // namespace

struct RuleGroups::Rules {
  std::vector<std::vector<Item>> items;  // by rule index
  std::vector<bool> catch_all;
};

RuleGroups::~RuleGroups() = default;

namespace {

sluice_inline_match inline_match(const RuleGroups::Item& item);

}  // namespace

RuleGroups::RuleGroups(const std::vector<config::Rule>& rules, std::uint32_t first_id,
                       std::uint32_t id_step)
    : first_id_(first_id),
      id_step_(id_step),
      single_rule_ids_(rules.size()),
      groups_per_rule_(rules.size()) {
  auto shared = std::make_shared<Rules>();
  shared->items.reserve(rules.size());
  shared->catch_all.resize(rules.size());
  for (std::size_t i = 0; i < rules.size(); ++i) {
    shared->items.push_back(rule_items(rules[i], static_cast<std::uint32_t>(i)));
    shared->catch_all[i] =
        rules[i].proto == config::Protocol::Any && rules[i].ports.empty() && !rules[i].icmp_type;
  }
  rules_ = std::move(shared);
}

RuleGroups::RuleGroups(const RuleGroups& same_rules, std::uint32_t first_id, std::uint32_t id_step)
    : rules_(same_rules.rules_),
      first_id_(first_id),
      id_step_(id_step),
      single_rule_ids_(same_rules.single_rule_ids_.size()),
      groups_per_rule_(same_rules.groups_per_rule_.size()) {}

bool RuleGroups::matches_all_traffic(std::uint32_t rule) const { return rules_->catch_all[rule]; }

void RuleGroups::count_groups_of(const RuleGroups& other) {
  for (std::size_t r = 0; r < groups_per_rule_.size(); ++r)
    groups_per_rule_[r] += other.groups_per_rule_[r];
}

std::uint32_t RuleGroups::code_for(const std::vector<std::uint32_t>& rule_indexes) {
  if (rule_indexes.size() == 1) {
    auto r = rule_indexes[0];
    if (rules_->items[r].size() == 1) return SLUICE_CODE_RULE | r;
    if (!single_rule_ids_[r]) single_rule_ids_[r] = intern(rule_indexes);
    return single_rule_ids_[r];
  }
  return intern(rule_indexes);
}

sluice_inline_match RuleGroups::item_of(std::uint32_t code) const {
  if (!(code & SLUICE_CODE_RULE)) return {};
  return inline_match(rules_->items[code & ~SLUICE_CODE_RULE].front());
}

bool RuleGroups::decides_inline(const std::vector<std::uint32_t>& rule_indexes) const {
  std::size_t items = 0;  // before dropping covered ones: at most this many
  for (auto r : rule_indexes) items += rules_->items[r].size();
  return items <= SLUICE_GROUP_INLINE;
}

std::uint32_t RuleGroups::intern(const std::vector<std::uint32_t>& rule_indexes) {
  auto next = static_cast<std::uint32_t>(first_id_ + lists_.size() * id_step_);
  auto [it, added] = ids_.try_emplace(rule_indexes, next);
  if (added) {
    lists_.push_back(rule_indexes);
    for (auto r : rule_indexes) ++groups_per_rule_[r];
  }
  return it->second;
}

void RuleGroups::emit(CompiledPolicy& out) const {
  out.groups.reserve(lists_.size());
  std::vector<Item> items;
  for (std::size_t i = 0; i < lists_.size(); ++i) {
    items.clear();
    for (auto r : lists_[i])
      for (const auto& item : rules_->items[r])
        if (!covered(items, item)) items.push_back(item);
    auto id = static_cast<std::uint32_t>(first_id_ + i * id_step_);
    if (items.size() <= SLUICE_GROUP_INLINE)
      emit_inline(id, items, out);
    else
      emit_expanded(id, items, out);
  }
}

namespace {

std::vector<RuleGroups::Item> rule_items(const config::Rule& r, std::uint32_t index) {
  RuleGroups::Item it;
  it.decision.rule_index = index;
  it.decision.action = abi_action(r.action);
  it.decision.flags =
      static_cast<std::uint8_t>((r.log ? SLUICE_RULE_LOG : 0) | (r.audit ? SLUICE_RULE_AUDIT : 0) |
                                (r.l7 ? SLUICE_RULE_L7 : 0));
  it.decision.proxy_slot = r.l7 ? r.proxy_slot : 0;
  if (r.proto == config::Protocol::Any) return {it};
  it.proto = abi_proto(r.proto);
  if (r.icmp_type) {
    it.first = static_cast<std::uint16_t>(*r.icmp_type << 8);
    it.last = static_cast<std::uint16_t>(it.first | 0xff);
    return {it};
  }
  if (r.ports.empty()) return {it};
  std::vector<RuleGroups::Item> out;
  for (const auto& range : r.ports) {
    it.first = range.first;
    it.last = range.last;
    out.push_back(it);
  }
  return out;
}

sluice_inline_match inline_match(const RuleGroups::Item& item) {
  sluice_inline_match m{};
  m.proto = item.proto;
  m.first = item.first;
  m.last = item.last;
  m.decision = item.decision;
  return m;
}

GroupEntry group_entry(std::uint32_t id, std::uint32_t first_rule) {
  GroupEntry g;
  g.key.id = id;
  g.value.first_rule_index = first_rule;
  return g;
}

// A protocol/port prefix over the 24 bits proto << 16 | port.
struct MatchPrefix {
  std::uint32_t value = 0;
  std::uint8_t bits = 0;  // see SLUICE_MATCH_BITS_MAX in abi.h
  sluice_decision decision{};

  auto order() const { return std::tie(value, bits, decision.rule_index); }
  bool same(const MatchPrefix& o) const { return value == o.value && bits == o.bits; }
  bool contains(const MatchPrefix& o) const {
    if (bits > o.bits) return false;
    std::uint32_t mask = bits == 0 ? 0 : (0xffffffu << (SLUICE_MATCH_BITS_MAX - bits)) & 0xffffffu;
    return (o.value & mask) == value;
  }
};

std::vector<MatchPrefix> match_prefixes(const RuleGroups::Item& it) {
  if (it.proto == 0) return {{0, 0, it.decision}};
  std::uint32_t proto = static_cast<std::uint32_t>(it.proto) << 16;
  if (it.first == 0 && it.last == 0xffff) return {{proto, 8, it.decision}};
  std::vector<MatchPrefix> out;
  for (auto pp : port_range_prefixes(it.first, it.last))
    out.push_back({proto | pp.value, static_cast<std::uint8_t>(8 + pp.length), it.decision});
  return out;
}

}  // namespace

// A small group: its items, in rule order, travel inside the group entry.
void RuleGroups::emit_inline(std::uint32_t id, const std::vector<Item>& items,
                             CompiledPolicy& out) const {
  GroupEntry g = group_entry(id, items.front().decision.rule_index);
  for (const auto& item : items) g.value.inline_rules[g.value.inline_count++] = inline_match(item);
  out.groups.push_back(g);
}

// A larger group: its items become protocol/port prefixes with first-match
// decision entries. The datapath stops at the longest prefix that matches,
// so each entry takes the first match among itself and the shorter prefixes
// of its group containing it.
void RuleGroups::emit_expanded(std::uint32_t id, const std::vector<Item>& items,
                               CompiledPolicy& out) const {
  std::vector<MatchPrefix> prefixes;
  for (const auto& item : items) {
    auto mine = match_prefixes(item);
    prefixes.insert(prefixes.end(), mine.begin(), mine.end());
  }
  // Prefix order (containing before contained), and for each prefix the
  // earliest rule first: the first rule to name a prefix wins it.
  std::sort(prefixes.begin(), prefixes.end(),
            [](const MatchPrefix& a, const MatchPrefix& b) { return a.order() < b.order(); });
  prefixes.erase(std::unique(prefixes.begin(), prefixes.end(),
                             [](const MatchPrefix& a, const MatchPrefix& b) { return a.same(b); }),
                 prefixes.end());

  GroupEntry g = group_entry(id, items.front().decision.rule_index);
  std::uint32_t shapes = 0;
  std::vector<MatchPrefix> open;  // the containing prefixes, with their result
  for (auto p : prefixes) {
    while (!open.empty() && !open.back().contains(p)) open.pop_back();
    bool same_as_outer = false;
    if (!open.empty() && open.back().decision.rule_index < p.decision.rule_index) {
      p.decision = open.back().decision;
      // Decided like the prefix containing it, which the search finds
      // when this one is absent: no entry (a shadowed rule costs nothing).
      same_as_outer = true;
    }
    open.push_back(p);
    if (same_as_outer) continue;
    shapes |= 1u << p.bits;

    DecisionEntry d;
    d.key.group = id;
    d.key.bits = p.bits;
    d.key.proto = static_cast<std::uint8_t>(p.value >> 16);
    d.key.port[0] = static_cast<std::uint8_t>(p.value >> 8);
    d.key.port[1] = static_cast<std::uint8_t>(p.value);
    d.value = p.decision;
    out.decisions.push_back(d);
  }
  for (int bits = SLUICE_MATCH_BITS_MAX; bits >= 0; --bits)
    if (shapes & (1u << bits)) g.value.bits[g.value.shapes++] = static_cast<std::uint8_t>(bits);
  out.groups.push_back(g);
}

}  // namespace sluice::policy
