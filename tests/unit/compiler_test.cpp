// The compiled maps, looked up the way bpf/lib/policy.h looks them up,
// must give the reference evaluator's verdict. This runs without a kernel;
// tests/datapath/differential_test.cpp repeats it through the real programs.
#include "policy/compiler.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <unordered_map>

#include "common/random_ruleset.h"
#include "config/parser.h"
#include "policy/reference_evaluator.h"

namespace {

using namespace sluice;
using config::Family;

// A user-space model of the datapath's lookups (bpf/lib/policy.h) over a
// CompiledPolicy: the same probes, in the same order, on hash tables.
class CompiledLookup {
 public:
  explicit CompiledLookup(const policy::CompiledPolicy& p) : policy_(p) {
    for (const auto& c : p.classes) classes_[bytes(class_key(c.side, c.prefix))] = c.chain;
    for (const auto& g : p.groups) groups_[bytes(g.key)] = g.value;
    for (const auto& d : p.decisions) decisions_[bytes(d.key)] = d.value;
  }

  policy::Verdict decide(config::Chain chain, const policy::PacketHeaders& pkt) const {
    auto srcs = classes_of(SLUICE_SIDE_SRC, pkt.family, pkt.src);
    auto dsts = classes_of(SLUICE_SIDE_DST, pkt.family, pkt.dst);
    std::uint16_t port = (pkt.proto == 1 || pkt.proto == 58)
                             ? static_cast<std::uint16_t>(pkt.icmp_type << 8 | pkt.icmp_code)
                             : pkt.dport;
    sluice_decision best{};
    best.rule_index = SLUICE_RULE_INDEX_DEFAULT;
    for (auto sc : srcs)
      for (auto dc : dsts) {
        sluice_group_key gk{};
        gk.chain = static_cast<std::uint8_t>(chain);
        gk.src_class = sc;
        gk.dst_class = dc;
        auto g = groups_.find(bytes(gk));
        if (g == groups_.end() || g->second.first_rule_index >= best.rule_index) continue;
        if (g->second.inline_count) {
          for (int i = 0; i < g->second.inline_count; ++i) {
            const auto& m = g->second.inline_rules[i];
            if ((m.proto == 0 || m.proto == pkt.proto) && port >= m.first && port <= m.last) {
              if (m.decision.rule_index < best.rule_index) best = m.decision;
              break;
            }
          }
          continue;
        }
        for (int i = 0; i < g->second.shapes; ++i) {
          std::uint8_t bits = g->second.bits[i];
          sluice_decision_key k{};
          k.chain = gk.chain;
          k.src_class = sc;
          k.dst_class = dc;
          k.bits = bits;
          k.proto = bits >= 8 ? pkt.proto : 0;
          int port_bits = bits - 8;
          auto masked =
              static_cast<std::uint16_t>(port_bits <= 0 ? 0 : port & (0xffff << (16 - port_bits)));
          k.port[0] = static_cast<std::uint8_t>(masked >> 8);
          k.port[1] = static_cast<std::uint8_t>(masked);
          auto d = decisions_.find(bytes(k));
          if (d == decisions_.end()) continue;
          if (d->second.rule_index < best.rule_index) best = d->second;
          break;
        }
      }
    int c = static_cast<int>(chain);
    if (best.rule_index == SLUICE_RULE_INDEX_DEFAULT)
      return {std::nullopt, static_cast<config::Action>(policy_.chain_defaults[c]),
              policy_.chain_audit[c] != 0};
    return {best.rule_index, static_cast<config::Action>(best.action),
            (best.flags & SLUICE_RULE_AUDIT) != 0};
  }

 private:
  template <typename T>
  static std::string bytes(const T& v) {
    return std::string(reinterpret_cast<const char*>(&v), sizeof v);
  }

  static sluice_class_key class_key(std::uint8_t side, const config::Prefix& p) {
    sluice_class_key k{};
    k.side = side;
    k.family = static_cast<std::uint8_t>(p.family);
    k.prefixlen = p.length;
    std::copy(p.addr.begin(), p.addr.end(), k.addr);
    return k;
  }

  // The classes containing addr (probing lengths longest first), then "any".
  std::vector<std::uint32_t> classes_of(std::uint8_t side, Family f,
                                        const std::array<std::uint8_t, 16>& addr) const {
    std::vector<std::uint32_t> out;
    for (auto len : policy_.prefix_lengths[policy::prefix_lengths_slot(side, f)]) {
      config::Prefix p;
      p.family = f;
      p.addr = addr;
      p.length = len;
      auto hit = classes_.find(bytes(class_key(side, config::masked(p))));
      if (hit == classes_.end()) continue;
      out.assign(hit->second.ids, hit->second.ids + hit->second.depth);
      break;
    }
    out.push_back(SLUICE_CLASS_ANY);
    return out;
  }

  const policy::CompiledPolicy& policy_;
  std::unordered_map<std::string, sluice_class_chain> classes_;
  std::unordered_map<std::string, sluice_group> groups_;
  std::unordered_map<std::string, sluice_decision> decisions_;
};

config::Config parse(const char* toml) {
  auto r = config::parse_string(toml, "t.toml");
  EXPECT_TRUE(r.diagnostics.empty()) << config::format(r.diagnostics);
  return *r.config;
}

policy::PacketHeaders tcp4(const char* src, const char* dst, std::uint16_t port) {
  policy::PacketHeaders h;
  h.src = config::parse_prefix(src).prefix->addr;
  h.dst = config::parse_prefix(dst).prefix->addr;
  h.proto = 6;
  h.dport = port;
  return h;
}

TEST(Compiler, LaterSpecificRuleDoesNotOverrideEarlierBroadOne) {
  auto cfg = parse(R"(
[chains]
forward = "accept"
[[rule]]
name = "block-net"
chain = "forward"
from = "10.1.0.0/16"
action = "drop"
[[rule]]
name = "allow-host"
chain = "forward"
from = "10.1.2.3"
proto = "tcp"
port = 80
action = "accept"
[[rule]]
name = "reject-web-range"
chain = "forward"
to = "192.0.2.0/24"
proto = "tcp"
port = "8000-8100"
action = "reject"
)");
  auto compiled = policy::compile(cfg);
  CompiledLookup dp(compiled);
  auto check = [&](const policy::PacketHeaders& h, std::optional<std::size_t> rule,
                   config::Action a) {
    auto ref = policy::evaluate(cfg, config::Chain::Forward, h);
    EXPECT_EQ(ref.rule_index, rule);
    EXPECT_EQ(ref.action, a);
    auto got = dp.decide(config::Chain::Forward, h);
    EXPECT_EQ(got.rule_index, ref.rule_index);
    EXPECT_EQ(got.action, ref.action);
  };
  check(tcp4("10.1.2.3", "192.0.2.1", 80), 0, config::Action::Drop);
  check(tcp4("10.9.2.3", "192.0.2.1", 8050), 2, config::Action::Reject);
  check(tcp4("10.9.2.3", "192.0.2.1", 8101), std::nullopt, config::Action::Accept);
  check(tcp4("10.9.2.3", "198.51.100.1", 8050), std::nullopt, config::Action::Accept);
}

TEST(Compiler, SmallGroupsCarryTheirRulesInline) {
  auto cfg = parse(R"(
[[rule]]
name = "all-tcp"
chain = "input"
proto = "tcp"
action = "accept"
[[rule]]
name = "ssh"
chain = "input"
proto = "tcp"
port = 22
action = "drop"
)");
  auto compiled = policy::compile(cfg);
  ASSERT_EQ(compiled.groups.size(), 1u);
  EXPECT_TRUE(compiled.decisions.empty());
  const auto& g = compiled.groups[0].value;
  ASSERT_EQ(g.inline_count, 2);
  EXPECT_EQ(g.inline_rules[0].decision.rule_index, 0u);
  EXPECT_EQ(g.inline_rules[0].proto, 6);
  EXPECT_EQ(g.inline_rules[0].first, 0);
  EXPECT_EQ(g.inline_rules[0].last, 0xffff);
  EXPECT_EQ(g.inline_rules[1].first, 22);
}

TEST(Compiler, ExpandedEntriesCarryTheFirstMatchOfShorterPrefixes) {
  // More rules in one group than fit inline: the any-port rule comes first,
  // so every longer port prefix must still answer with it.
  std::string toml =
      "[[rule]]\nname = \"all-tcp\"\nchain = \"input\"\nproto = \"tcp\"\naction = \"accept\"\n";
  for (int port = 1; port <= SLUICE_GROUP_INLINE; ++port)
    toml += "[[rule]]\nname = \"p" + std::to_string(port) +
            "\"\nchain = \"input\"\nproto = \"tcp\"\nport = " + std::to_string(port * 1000) +
            "\naction = \"drop\"\n";
  auto compiled = policy::compile(parse(toml.c_str()));
  ASSERT_EQ(compiled.groups.size(), 1u);
  EXPECT_EQ(compiled.groups[0].value.inline_count, 0);
  EXPECT_EQ(compiled.groups[0].value.shapes, 2);  // whole ports (8 + 16 bits) and proto-only (8)
  ASSERT_EQ(compiled.decisions.size(), 1u + SLUICE_GROUP_INLINE);
  for (const auto& d : compiled.decisions) EXPECT_EQ(d.value.rule_index, 0u);
}

TEST(Compiler, RejectsRulesetsBeyondCapacity) {
  config::Config cfg;
  cfg.rules.resize(SLUICE_MAX_RULES + 1);
  EXPECT_THROW(policy::compile(cfg), policy::CapacityError);
}

TEST(Compiler, AgreesWithReferenceOnRandomRulesets) {
  for (std::uint64_t seed = 1; seed <= 150; ++seed) {
    std::mt19937_64 rng(seed);
    testkit::RulesetShape shape;
    shape.rules = 1 + rng() % 300;
    auto cfg = testkit::random_ruleset(rng, shape);
    auto local = testkit::random_local_addresses(rng, shape);
    auto compiled = policy::compile(cfg);
    CompiledLookup dp(compiled);
    for (int i = 0; i < 300; ++i) {
      auto chain = static_cast<config::Chain>(rng() % 3);
      auto pkt = testkit::random_packet(rng, cfg, chain, local);
      auto ref = policy::evaluate(cfg, chain, pkt);
      auto got = dp.decide(chain, pkt);
      ASSERT_EQ(got.rule_index, ref.rule_index) << "seed " << seed << " packet " << i;
      ASSERT_EQ(got.action, ref.action) << "seed " << seed << " packet " << i;
      ASSERT_EQ(got.audit, ref.audit) << "seed " << seed << " packet " << i;
    }
  }
}

}  // namespace
