#include "policy/compiler.h"

#include <algorithm>
#include <unordered_map>

#include "policy/port_prefixes.h"

namespace sluice::policy {

namespace {

using config::Prefix;

bool prefix_less(const Prefix& a, const Prefix& b) {
  if (a.family != b.family) return a.family < b.family;
  if (a.addr != b.addr) return a.addr < b.addr;
  return a.length < b.length;
}

// Every distinct prefix the rules name on one side (from or to) is a class.
// An address belongs to every class containing it: its longest match and
// that prefix's ancestors, which the datapath gets in one LPM lookup.
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
    if (prefixes_.size() >= SLUICE_MAX_ADDR_CLASSES)
      throw CapacityError("rules name " + std::to_string(prefixes_.size()) + " distinct prefixes in '" +
                          side_name + "'; the datapath holds at most " +
                          std::to_string(SLUICE_MAX_ADDR_CLASSES - 1));

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

// What a rule says about protocol and port, as prefixes over the
// (proto, port) bits that follow the classes in a decision key.
struct ProtoPortPrefix {
  std::uint8_t proto = 0;
  std::uint16_t port = 0;  // host order; ICMP: type << 8 | code
  std::uint8_t bits = 0;   // 0 any proto, 8 proto only, 8 + N port prefix
};

std::vector<ProtoPortPrefix> proto_port_prefixes(const config::Rule& r) {
  if (r.proto == config::Protocol::Any) return {{0, 0, 0}};
  auto proto = static_cast<std::uint8_t>(r.proto);
  if (r.icmp_type) return {{proto, static_cast<std::uint16_t>(*r.icmp_type << 8), 16}};
  if (r.ports.empty()) return {{proto, 0, 8}};
  std::vector<ProtoPortPrefix> out;
  for (const auto& range : r.ports)
    for (auto pp : port_range_prefixes(range.first, range.last))
      out.push_back({proto, pp.value, static_cast<std::uint8_t>(8 + pp.length)});
  return out;
}

// A decision key without its generation, packed for hashing.
struct Key {
  std::uint64_t classes;  // src << 32 | dst
  std::uint64_t rest;     // chain << 40 | proto << 32 | port << 16 | bits
  bool operator==(const Key&) const = default;
};

struct KeyHash {
  std::size_t operator()(const Key& k) const {
    std::uint64_t h = k.classes * 0x9e3779b97f4a7c15ull ^ (k.rest + 0x632be59bd9b4e019ull);
    return static_cast<std::size_t>(h ^ (h >> 29));
  }
};

Key make_key(std::uint8_t chain, std::uint32_t src, std::uint32_t dst, ProtoPortPrefix pp) {
  return {static_cast<std::uint64_t>(src) << 32 | dst,
          static_cast<std::uint64_t>(chain) << 40 | static_cast<std::uint64_t>(pp.proto) << 32 |
              static_cast<std::uint64_t>(pp.port) << 16 | pp.bits};
}

ProtoPortPrefix proto_port_of(const Key& k) {
  return {static_cast<std::uint8_t>(k.rest >> 32), static_cast<std::uint16_t>(k.rest >> 16),
          static_cast<std::uint8_t>(k.rest)};
}

// The shorter prefixes (same chain and classes) that contain pp.
std::vector<ProtoPortPrefix> ancestors(ProtoPortPrefix pp) {
  std::vector<ProtoPortPrefix> out;
  if (pp.bits == 0) return out;
  out.push_back({0, 0, 0});
  for (std::uint8_t bits = 8; bits < pp.bits; ++bits) {
    int port_bits = bits - 8;
    auto mask = static_cast<std::uint16_t>(port_bits == 0 ? 0 : 0xffff << (16 - port_bits));
    out.push_back({pp.proto, static_cast<std::uint16_t>(pp.port & mask), bits});
  }
  return out;
}

sluice_decision_key to_map_key(const Key& k) {
  sluice_decision_key key{};
  auto pp = proto_port_of(k);
  key.prefixlen = SLUICE_DECISION_FIXED_BITS + pp.bits;
  key.chain = static_cast<std::uint8_t>(k.rest >> 40);
  key.src_class = static_cast<std::uint32_t>(k.classes >> 32);
  key.dst_class = static_cast<std::uint32_t>(k.classes);
  key.proto = pp.proto;
  key.port[0] = static_cast<std::uint8_t>(pp.port >> 8);
  key.port[1] = static_cast<std::uint8_t>(pp.port);
  return key;
}

}  // namespace

CompiledPolicy compile(const config::Config& cfg) {
  if (cfg.rules.size() > SLUICE_MAX_RULES)
    throw CapacityError("ruleset has " + std::to_string(cfg.rules.size()) +
                        " rules; the datapath holds at most " + std::to_string(SLUICE_MAX_RULES));

  CompiledPolicy out;
  for (int c = 0; c < config::kChainCount; ++c)
    out.chain_defaults[c] = static_cast<std::uint8_t>(cfg.chain_defaults[c]);
  if (!cfg.prefilter.drop_from_set.empty())
    out.prefilter = cfg.sets.at(cfg.prefilter.drop_from_set).prefixes;

  AddressClasses src_classes(cfg.rules, &config::Rule::from, "from");
  AddressClasses dst_classes(cfg.rules, &config::Rule::to, "to");
  auto side_of = [&](const AddressClasses* c) {
    return c == &src_classes ? SLUICE_SIDE_SRC : SLUICE_SIDE_DST;
  };
  out.classes.reserve(src_classes.size() + dst_classes.size());
  for (const auto* classes : {&src_classes, &dst_classes})
    for (std::size_t i = 0; i < classes->size(); ++i)
      out.classes.push_back({classes->prefix(i), classes->chain(i),
                             static_cast<std::uint8_t>(side_of(classes))});

  // First rule to claim a key wins: rules are visited in order.
  std::unordered_map<Key, sluice_decision, KeyHash> first;
  std::unordered_map<Key, std::uint32_t, KeyHash> group_first;  // rest: chain only
  out.rule_names.reserve(cfg.rules.size());
  for (std::size_t i = 0; i < cfg.rules.size(); ++i) {
    const auto& r = cfg.rules[i];
    out.rule_names.push_back(r.name);
    sluice_decision d{};
    d.rule_index = static_cast<std::uint32_t>(i);
    d.action = static_cast<std::uint8_t>(r.action);
    d.flags = r.log ? SLUICE_RULE_LOG : 0;
    auto chain = static_cast<std::uint8_t>(r.chain);
    auto pps = proto_port_prefixes(r);
    for (auto src : src_classes.classes_of(r.from))
      for (auto dst : dst_classes.classes_of(r.to)) {
        group_first.try_emplace(make_key(chain, src, dst, {}), d.rule_index);
        for (auto pp : pps) first.try_emplace(make_key(chain, src, dst, pp), d);
      }
  }
  if (group_first.size() > SLUICE_MAX_GROUPS)
    throw CapacityError("rules name " + std::to_string(group_first.size()) +
                        " (from, to) prefix pairs; the datapath holds at most " +
                        std::to_string(SLUICE_MAX_GROUPS));
  out.groups.reserve(group_first.size());
  for (const auto& [key, rule_index] : group_first) {
    sluice_group_key gk{};
    gk.chain = static_cast<std::uint8_t>(key.rest >> 40);
    gk.src_class = static_cast<std::uint32_t>(key.classes >> 32);
    gk.dst_class = static_cast<std::uint32_t>(key.classes);
    out.groups.push_back({gk, {rule_index}});
  }
  if (first.size() > SLUICE_MAX_DECISIONS)
    throw CapacityError("ruleset expands to " + std::to_string(first.size()) +
                        " decision entries; the datapath holds at most " +
                        std::to_string(SLUICE_MAX_DECISIONS) +
                        " (a rule with sets on both sides holds every pair)");

  // An LPM lookup returns only the longest matching entry, so each entry
  // takes the first match among itself and its shorter ancestors.
  out.decisions.reserve(first.size());
  for (const auto& [key, decision] : first) {
    sluice_decision best = decision;
    for (auto anc : ancestors(proto_port_of(key))) {
      Key ak = key;
      ak.rest = (key.rest & (0xffull << 40)) | make_key(0, 0, 0, anc).rest;
      auto it = first.find(ak);
      if (it != first.end() && it->second.rule_index < best.rule_index) best = it->second;
    }
    out.decisions.push_back({to_map_key(key), best});
  }
  return out;
}

}  // namespace sluice::policy
