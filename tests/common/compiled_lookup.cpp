#include "common/compiled_lookup.h"

#include <cstring>

#include "policy/abi_values.h"
#include "policy/longest_match.h"

namespace sluice::testkit {

namespace {

template <typename T>
std::string bytes(const T& v) {
  return std::string(reinterpret_cast<const char*>(&v), sizeof v);
}

sluice_class_key class_key(std::uint8_t context, const config::Prefix& p) {
  sluice_class_key k{};
  k.context = context;
  k.family = policy::abi_family(p.family);
  k.prefixlen = p.length;
  std::memcpy(k.addr, p.addr.data(), 16);
  return k;
}

config::Prefix masked(config::Family f, const std::array<std::uint8_t, 16>& addr, int len) {
  config::Prefix p;
  p.family = f;
  p.addr = addr;
  p.length = static_cast<std::uint8_t>(len);
  return config::masked(p);
}

template <typename Value>
policy::SearchSpan span_of(const Value& v) {
  return {v.below.first, v.below.last};
}

}  // namespace

CompiledLookup::CompiledLookup(const policy::CompiledPolicy& p) : policy_(p) {
  for (const auto& c : p.classes) classes_[bytes(class_key(c.context, c.prefix))] = c.value;
  for (const auto& c : p.contexts) contexts_[bytes(c.key)] = c.id;
  for (const auto& l : p.length_sets) length_sets_[l.id] = l.lengths;
  for (const auto& t : p.targets) targets_[bytes(t.key)] = t.value;
  for (const auto& t : p.tables) tables_[bytes(t.key)] = t.value;
  for (const auto& g : p.groups) groups_[g.key.id] = g.value;
  for (const auto& d : p.decisions) decisions_[bytes(d.key)] = d.value;
}

sluice_class_value CompiledLookup::source_scopes(std::uint8_t context,
                                                 const policy::PacketHeaders& pkt) const {
  const auto& lengths = policy_.source_lengths[context][policy::family_slot(pkt.family)];
  sluice_class_value found{};
  policy::longest_match_search(lengths, [&](int len, policy::SearchSpan& below) {
    ++probes_;
    auto hit = classes_.find(bytes(class_key(context, masked(pkt.family, pkt.src, len))));
    if (hit == classes_.end()) return false;
    found = hit->second;
    below = span_of(found);
    return true;
  });
  return found;
}

void CompiledLookup::scope_decide(std::uint8_t context, const sluice_scope_ref& ref,
                                  const policy::PacketHeaders& pkt, std::uint16_t port,
                                  sluice_decision& best) const {
  ++probes_;
  if (ref.length_set == SLUICE_LENGTH_SET_TABLE) {
    sluice_dest_table_key k{};
    k.context = context;
    k.family = policy::abi_family(pkt.family);
    k.scope = ref.scope;
    auto t = tables_.find(bytes(k));
    if (t == tables_.end()) return;
    for (std::uint32_t i = 0; i < t->second.count && i < SLUICE_TABLE_ENTRIES; ++i) {
      const auto& e = t->second.entry[i];
      config::Prefix prefix;
      prefix.family = pkt.family;
      prefix.length = e.prefixlen;
      std::memcpy(prefix.addr.data(), e.addr, 16);
      if (prefix.contains_address(pkt.dst, pkt.family))
        code_decide(e.code, e.single, pkt.proto, port, best);
    }
    return;
  }
  auto set = length_sets_.find(ref.length_set);
  if (set == length_sets_.end()) return;
  const auto& lengths = set->second;
  sluice_target found{};
  policy::longest_match_search(lengths, [&](int len, policy::SearchSpan& below) {
    ++probes_;
    sluice_target_key k{};
    k.context = context;
    k.family = policy::abi_family(pkt.family);
    k.prefixlen = static_cast<std::uint8_t>(len);
    k.scope = ref.scope;
    auto p = masked(pkt.family, pkt.dst, len);
    std::memcpy(k.addr, p.addr.data(), 16);
    auto hit = targets_.find(bytes(k));
    if (hit == targets_.end()) return false;
    found = hit->second;
    below = span_of(found);
    return true;
  });
  code_decide(found.code, found.single, pkt.proto, port, best);
}

void CompiledLookup::code_decide(std::uint32_t code, const sluice_inline_match& single,
                                 std::uint8_t proto, std::uint16_t port,
                                 sluice_decision& best) const {
  if (!code) return;
  if (!(code & SLUICE_CODE_RULE)) return group_decide(code, proto, port, best);
  const auto& m = single;
  if (m.decision.rule_index < best.rule_index && (m.proto == 0 || m.proto == proto) &&
      port >= m.first && port <= m.last)
    best = m.decision;
}

void CompiledLookup::group_decide(std::uint32_t id, std::uint8_t proto, std::uint16_t port,
                                  sluice_decision& best) const {
  ++probes_;
  auto it = groups_.find(id);
  if (it == groups_.end() || it->second.first_rule_index >= best.rule_index) return;
  const auto& g = it->second;
  if (g.inline_count) {
    for (int i = 0; i < g.inline_count; ++i) {
      const auto& m = g.inline_rules[i];
      if ((m.proto == 0 || m.proto == proto) && port >= m.first && port <= m.last) {
        if (m.decision.rule_index < best.rule_index) best = m.decision;
        return;
      }
    }
    return;
  }
  for (int i = 0; i < g.shapes; ++i) {
    std::uint8_t bits = g.bits[i];
    sluice_decision_key k{};
    k.group = id;
    k.bits = bits;
    k.proto = bits >= 8 ? proto : 0;
    int port_bits = bits - 8;
    auto masked_port =
        static_cast<std::uint16_t>(port_bits <= 0 ? 0 : port & (0xffff << (16 - port_bits)));
    k.port[0] = static_cast<std::uint8_t>(masked_port >> 8);
    k.port[1] = static_cast<std::uint8_t>(masked_port);
    ++probes_;
    auto d = decisions_.find(bytes(k));
    if (d == decisions_.end()) continue;
    if (d->second.rule_index < best.rule_index) best = d->second;
    return;
  }
}

void CompiledLookup::context_decide(std::uint8_t context, const policy::PacketHeaders& pkt,
                                    std::uint16_t port, sluice_decision& best) const {
  auto source = source_scopes(context, pkt);
  for (std::uint32_t i = 0; i < source.count && i < SLUICE_MAX_SOURCE_SCOPES; ++i)
    scope_decide(context, source.scope[i], pkt, port, best);
  ++probes_;  // any_scopes
  auto any = policy_.any_scope[context][policy::family_slot(pkt.family)];
  if (any) scope_decide(context, {SLUICE_SCOPE_ANY, any}, pkt, port, best);
}

policy::Verdict CompiledLookup::decide(config::Chain chain,
                                       const policy::PacketHeaders& pkt) const {
  probes_ = 0;
  std::uint16_t port = (pkt.proto == 1 || pkt.proto == 58)
                           ? static_cast<std::uint16_t>(pkt.icmp_type << 8 | pkt.icmp_code)
                           : pkt.dport;
  sluice_decision best{};
  best.rule_index = SLUICE_RULE_INDEX_DEFAULT;
  auto c = policy::abi_chain(chain);
  context_decide(c, pkt, port, best);
  // The interfaces' contexts, as policy_decide() looks them up.
  auto id = [&](const std::string& name) -> std::uint16_t {
    for (std::size_t i = 0; i < policy_.interfaces.size(); ++i)
      if (!name.empty() && policy_.interfaces[i] == name) return static_cast<std::uint16_t>(i + 1);
    return 0;
  };
  auto kinds = policy_.context_kinds[c];
  std::uint16_t in = id(pkt.in_interface), out = id(pkt.out_interface);
  auto try_context = [&](std::uint8_t kind, std::uint16_t i, std::uint16_t o) {
    if (!(kinds & kind)) return;
    sluice_context_key k{};
    k.chain = c;
    k.in_iface = i;
    k.out_iface = o;
    ++probes_;
    auto hit = contexts_.find(bytes(k));
    if (hit != contexts_.end())
      context_decide(static_cast<std::uint8_t>(hit->second), pkt, port, best);
  };
  if (in) try_context(SLUICE_CONTEXT_IN, in, 0);
  if (out) try_context(SLUICE_CONTEXT_OUT, 0, out);
  if (in && out) try_context(SLUICE_CONTEXT_BOTH, in, out);
  int ci = static_cast<int>(chain);
  if (best.rule_index == SLUICE_RULE_INDEX_DEFAULT)
    return {std::nullopt, static_cast<config::Action>(policy_.chain_defaults[ci]),
            policy_.chain_audit[ci] != 0};
  return {best.rule_index, static_cast<config::Action>(best.action),
          (best.flags & SLUICE_RULE_AUDIT) != 0};
}

}  // namespace sluice::testkit
