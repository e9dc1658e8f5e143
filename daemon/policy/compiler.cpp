#include "policy/compiler.h"

#include <endian.h>

#include <algorithm>
#include <cstring>
#include <tuple>

#include "policy/abi_values.h"
#include "policy/port_prefixes.h"
#include "policy/prefilter.h"

namespace sluice::policy {

namespace {

using config::Prefix;

// The address as two big-endian words: compares like the bytes, faster.
std::pair<std::uint64_t, std::uint64_t> address_words(const Prefix& p) {
  std::uint64_t hi, lo;
  std::memcpy(&hi, p.addr.data(), 8);
  std::memcpy(&lo, p.addr.data() + 8, 8);
  return {be64toh(hi), be64toh(lo)};
}

// (family, address, length) order: a prefix sorts before the prefixes it contains.
bool prefix_less(const Prefix& a, const Prefix& b) {
  if (a.family != b.family) return a.family < b.family;
  auto wa = address_words(a), wb = address_words(b);
  if (wa != wb) return wa < wb;
  return a.length < b.length;
}

// Every distinct prefix the rules name on one side (from or to) is a class.
// An address belongs to every class containing it: its longest match and
// that prefix's ancestors, which the datapath finds with hash probes per length.
class AddressClasses {
 public:
  AddressClasses(const std::vector<config::Rule>& rules, config::Endpoint config::Rule::*side,
                 const char* side_name) {
    for (const auto& r : rules) {
      const auto& ep = r.*side;
      prefixes_.insert(prefixes_.end(), ep.prefixes.begin(), ep.prefixes.end());
    }
    std::sort(prefixes_.begin(), prefixes_.end(), prefix_less);
    prefixes_.erase(std::unique(prefixes_.begin(), prefixes_.end()), prefixes_.end());
    if (prefixes_.size() >= SLUICE_MAX_ADDR_CLASSES / 2 / SLUICE_GENERATIONS)
      throw CapacityError("rules name " + std::to_string(prefixes_.size()) +
                          " distinct prefixes in '" + side_name + "'; the datapath holds at most " +
                          std::to_string(SLUICE_MAX_ADDR_CLASSES / 2 / SLUICE_GENERATIONS - 1));

    // Sorted by (family, address, length), every prefix comes after its
    // ancestors: a stack of the open ones gives each its parent.
    chains_.resize(prefixes_.size());
    std::vector<std::size_t> open;
    for (std::size_t i = 0; i < prefixes_.size(); ++i) {
      while (!open.empty() && !prefixes_[open.back()].contains(prefixes_[i])) open.pop_back();
      auto& chain = chains_[i];
      chain.ids[0] = class_id(i);
      chain.depth = 1;
      if (!open.empty()) {
        const auto& parent = chains_[open.back()];
        if (parent.depth >= SLUICE_MAX_NEST)
          throw CapacityError(prefixes_[i].to_string() + " lies inside " +
                              std::to_string(SLUICE_MAX_NEST) + " other prefixes named in '" +
                              side_name + "'; at most " + std::to_string(SLUICE_MAX_NEST) +
                              " may nest around one address");
        std::copy(parent.ids, parent.ids + parent.depth, chain.ids + 1);
        chain.depth = parent.depth + 1;
      }
      open.push_back(i);
    }
  }

  std::size_t size() const { return prefixes_.size(); }
  const Prefix& prefix(std::size_t i) const { return prefixes_[i]; }
  const sluice_class_chain& chain(std::size_t i) const { return chains_[i]; }
  static std::uint32_t class_id(std::size_t index) { return static_cast<std::uint32_t>(index + 1); }

  // The classes an endpoint names; SLUICE_CLASS_ANY alone for "any".
  std::vector<std::uint32_t> classes_of(const config::Endpoint& ep) const {
    if (ep.any) return {SLUICE_CLASS_ANY};
    std::vector<std::uint32_t> out;
    for (const auto& p : ep.prefixes) {
      auto it = std::lower_bound(prefixes_.begin(), prefixes_.end(), p, prefix_less);
      out.push_back(class_id(static_cast<std::size_t>(it - prefixes_.begin())));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

 private:
  std::vector<Prefix> prefixes_;
  std::vector<sluice_class_chain> chains_;
};

// What one rule contributes to one (chain, source class, destination
// class) group: a protocol and a port range (ICMP: type << 8 | code).
struct Item {
  std::uint32_t src = 0;
  std::uint32_t dst = 0;
  std::uint8_t chain = 0;
  std::uint8_t proto = 0;  // 0: any
  std::uint16_t first = 0;
  std::uint16_t last = 0xffff;
  sluice_decision decision{};

  auto order() const { return std::tie(chain, src, dst, decision.rule_index, proto, first); }
  bool same_group(const Item& o) const { return chain == o.chain && src == o.src && dst == o.dst; }
};

// The items of one rule, before classes are attached.
std::vector<Item> rule_items(const config::Rule& r, const sluice_decision& d) {
  Item it;
  it.chain = abi_chain(r.chain);
  it.decision = d;
  if (r.proto == config::Protocol::Any) return {it};
  it.proto = abi_proto(r.proto);
  if (r.icmp_type) {
    it.first = static_cast<std::uint16_t>(*r.icmp_type << 8);
    it.last = static_cast<std::uint16_t>(it.first | 0xff);
    return {it};
  }
  if (r.ports.empty()) return {it};
  std::vector<Item> out;
  for (const auto& range : r.ports) {
    it.first = range.first;
    it.last = range.last;
    out.push_back(it);
  }
  return out;
}

GroupEntry group_entry(const Item& first) {
  GroupEntry g;
  g.key.chain = first.chain;
  g.key.src_class = first.src;
  g.key.dst_class = first.dst;
  g.value.first_rule_index = first.decision.rule_index;  // items are in rule order
  return g;
}

// A small group: its items, in rule order, travel inside the group entry.
void emit_inline_group(const std::vector<Item>& items, std::size_t begin, std::size_t end,
                       CompiledPolicy& out) {
  GroupEntry g = group_entry(items[begin]);
  for (std::size_t i = begin; i < end; ++i) {
    auto& m = g.value.inline_rules[g.value.inline_count++];
    m.proto = items[i].proto;
    m.first = items[i].first;
    m.last = items[i].last;
    m.decision = items[i].decision;
  }
  out.groups.push_back(g);
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

std::vector<MatchPrefix> match_prefixes(const Item& it) {
  if (it.proto == 0) return {{0, 0, it.decision}};
  std::uint32_t proto = static_cast<std::uint32_t>(it.proto) << 16;
  if (it.first == 0 && it.last == 0xffff) return {{proto, 8, it.decision}};
  std::vector<MatchPrefix> out;
  for (auto pp : port_range_prefixes(it.first, it.last))
    out.push_back({proto | pp.value, static_cast<std::uint8_t>(8 + pp.length), it.decision});
  return out;
}

// A larger group: its items become protocol/port prefixes with first-match
// decision entries. The datapath stops at the longest prefix that matches,
// so each entry takes the first match among itself and the shorter prefixes
// of its group containing it.
void emit_expanded_group(const std::vector<Item>& items, std::size_t begin, std::size_t end,
                         CompiledPolicy& out) {
  std::vector<MatchPrefix> prefixes;
  for (std::size_t i = begin; i < end; ++i) {
    auto mine = match_prefixes(items[i]);
    prefixes.insert(prefixes.end(), mine.begin(), mine.end());
  }
  // Prefix order (containing before contained), and for each prefix the
  // earliest rule first: the first rule to name a prefix wins it.
  std::sort(prefixes.begin(), prefixes.end(),
            [](const MatchPrefix& a, const MatchPrefix& b) { return a.order() < b.order(); });
  prefixes.erase(std::unique(prefixes.begin(), prefixes.end(),
                             [](const MatchPrefix& a, const MatchPrefix& b) { return a.same(b); }),
                 prefixes.end());

  GroupEntry g = group_entry(items[begin]);
  std::uint32_t shapes = 0;
  std::vector<MatchPrefix> open;  // the containing prefixes, with their result
  for (auto p : prefixes) {
    while (!open.empty() && !open.back().contains(p)) open.pop_back();
    if (!open.empty() && open.back().decision.rule_index < p.decision.rule_index)
      p.decision = open.back().decision;
    open.push_back(p);
    shapes |= 1u << p.bits;

    DecisionEntry d;
    d.key.chain = g.key.chain;
    d.key.src_class = g.key.src_class;
    d.key.dst_class = g.key.dst_class;
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

}  // namespace

CompiledPolicy compile(const config::Config& cfg) {
  if (cfg.rules.size() > SLUICE_MAX_RULES)
    throw CapacityError("ruleset has " + std::to_string(cfg.rules.size()) +
                        " rules; the datapath holds at most " + std::to_string(SLUICE_MAX_RULES));

  CompiledPolicy out;
  for (int c = 0; c < config::kChainCount; ++c) {
    out.chain_defaults[c] = abi_action(cfg.chain_defaults[c]);
    out.chain_audit[c] = cfg.chain_audit[c] ? 1 : 0;
  }
  out.flow_events = cfg.flows.events == config::FlowEvents::All ? SLUICE_FLOW_EVENTS_ALL
                                                                : SLUICE_FLOW_EVENTS_DENIED;
  compile_prefilter(cfg, out);

  AddressClasses src_classes(cfg.rules, &config::Rule::from, "from");
  AddressClasses dst_classes(cfg.rules, &config::Rule::to, "to");
  out.classes.reserve(src_classes.size() + dst_classes.size());
  for (std::uint8_t side : {SLUICE_SIDE_SRC, SLUICE_SIDE_DST}) {
    const auto& classes = side == SLUICE_SIDE_SRC ? src_classes : dst_classes;
    for (std::size_t i = 0; i < classes.size(); ++i) {
      const auto& p = classes.prefix(i);
      out.classes.push_back({p, classes.chain(i), side});
      out.prefix_lengths[prefix_lengths_slot(side, p.family)].push_back(p.length);
    }
  }
  for (auto& lengths : out.prefix_lengths) {
    std::sort(lengths.begin(), lengths.end(), std::greater<>());
    lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
  }

  std::vector<Item> items;
  items.reserve(cfg.rules.size() * 2);
  out.rule_names.reserve(cfg.rules.size());
  for (std::size_t i = 0; i < cfg.rules.size(); ++i) {
    const auto& r = cfg.rules[i];
    out.rule_names.push_back(r.name);
    sluice_decision d{};
    d.rule_index = static_cast<std::uint32_t>(i);
    d.action = abi_action(r.action);
    d.flags = static_cast<std::uint8_t>((r.log ? SLUICE_RULE_LOG : 0) |
                                        (r.audit ? SLUICE_RULE_AUDIT : 0));
    auto mine = rule_items(r, d);
    for (auto src : src_classes.classes_of(r.from))
      for (auto dst : dst_classes.classes_of(r.to))
        for (auto it : mine) {
          it.src = src;
          it.dst = dst;
          items.push_back(it);
        }
  }
  std::sort(items.begin(), items.end(),
            [](const Item& a, const Item& b) { return a.order() < b.order(); });

  for (std::size_t begin = 0; begin < items.size();) {
    std::size_t end = begin + 1;
    while (end < items.size() && items[end].same_group(items[begin])) ++end;
    if (end - begin <= SLUICE_GROUP_INLINE)
      emit_inline_group(items, begin, end, out);
    else
      emit_expanded_group(items, begin, end, out);
    begin = end;
  }
  if (out.groups.size() > SLUICE_MAX_GROUPS / SLUICE_GENERATIONS)
    throw CapacityError("rules name " + std::to_string(out.groups.size()) +
                        " (from, to) prefix pairs; the datapath holds at most " +
                        std::to_string(SLUICE_MAX_GROUPS / SLUICE_GENERATIONS) +
                        " (a rule with sets on both sides holds every pair)");
  if (out.decisions.size() > SLUICE_MAX_DECISIONS / SLUICE_GENERATIONS)
    throw CapacityError("ruleset expands to " + std::to_string(out.decisions.size()) +
                        " protocol/port entries; the datapath holds at most " +
                        std::to_string(SLUICE_MAX_DECISIONS / SLUICE_GENERATIONS));
  return out;
}

}  // namespace sluice::policy
