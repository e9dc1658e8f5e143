// The compiled maps, looked up the way bpf/lib/policy.h looks them up,
// must give the reference evaluator's verdict. This runs without a kernel;
// tests/datapath/differential_test.cpp repeats it through the real programs.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <unordered_map>

#include "common/random_ruleset.h"
#include "config/parser.h"
#include "policy/compiler.h"
#include "policy/reference_evaluator.h"

namespace {

using namespace sluice;
using config::Family;

// A user-space model of the datapath's LPM lookups over a CompiledPolicy.
class CompiledLookup {
 public:
  explicit CompiledLookup(const policy::CompiledPolicy& p) : policy_(p) {
    for (const auto& c : p.classes) classes_[c.side][{c.prefix.family, c.prefix.length}][c.prefix.addr] = c.chain;
    for (const auto& g : p.groups) groups_[group_string(g.key)] = g.value.first_rule_index;
    for (const auto& d : p.decisions) decisions_[key_string(d.key)] = d.value;
  }

  policy::Verdict decide(config::Chain chain, const policy::PacketHeaders& pkt) const {
    auto srcs = class_of(SLUICE_SIDE_SRC, pkt.family, pkt.src);
    auto dsts = class_of(SLUICE_SIDE_DST, pkt.family, pkt.dst);
    sluice_decision best{};
    best.rule_index = SLUICE_RULE_INDEX_DEFAULT;
    for (auto sc : srcs)
      for (auto dc : dsts) {
        sluice_group_key gk{};
        gk.chain = static_cast<std::uint8_t>(chain);
        gk.src_class = sc;
        gk.dst_class = dc;
        auto g = groups_.find(group_string(gk));
        if (g == groups_.end() || g->second >= best.rule_index) continue;
        if (auto hit = longest(chain, sc, dc, pkt); hit && hit->rule_index < best.rule_index) best = *hit;
      }
    if (best.rule_index == SLUICE_RULE_INDEX_DEFAULT)
      return {std::nullopt, static_cast<config::Action>(policy_.chain_defaults[static_cast<int>(chain)])};
    return {best.rule_index, static_cast<config::Action>(best.action)};
  }

 private:
  static std::string key_string(const sluice_decision_key& k) {
    return std::string(reinterpret_cast<const char*>(&k), sizeof k);
  }
  static std::string group_string(const sluice_group_key& k) {
    return std::string(reinterpret_cast<const char*>(&k), sizeof k);
  }

  // The classes containing addr, then "any".
  std::vector<std::uint32_t> class_of(int side, Family f, const std::array<std::uint8_t, 16>& addr) const {
    const auto& by_length = classes_[side];
    std::vector<std::uint32_t> out;
    for (int len = f == Family::V4 ? 32 : 128; len >= 0 && out.empty(); --len) {
      auto it = by_length.find({f, static_cast<std::uint8_t>(len)});
      if (it == by_length.end()) continue;
      config::Prefix p;
      p.family = f;
      p.addr = addr;
      p.length = static_cast<std::uint8_t>(len);
      auto hit = it->second.find(config::masked(p).addr);
      if (hit != it->second.end()) out.assign(hit->second.ids, hit->second.ids + hit->second.depth);
    }
    out.push_back(SLUICE_CLASS_ANY);
    return out;
  }

  std::optional<sluice_decision> longest(config::Chain chain, std::uint32_t s, std::uint32_t d,
                                         const policy::PacketHeaders& pkt) const {
    std::uint16_t port = (pkt.proto == 1 || pkt.proto == 58)
                             ? static_cast<std::uint16_t>(pkt.icmp_type << 8 | pkt.icmp_code)
                             : pkt.dport;
    for (int bits = 24; bits >= 0; --bits) {
      sluice_decision_key k{};
      k.prefixlen = SLUICE_DECISION_FIXED_BITS + static_cast<unsigned>(bits);
      k.chain = static_cast<std::uint8_t>(chain);
      k.src_class = s;
      k.dst_class = d;
      if (bits >= 8) k.proto = pkt.proto;
      int port_bits = bits - 8;
      std::uint16_t masked = port_bits <= 0 ? 0 : static_cast<std::uint16_t>(port & (0xffff << (16 - port_bits)));
      k.port[0] = static_cast<std::uint8_t>(masked >> 8);
      k.port[1] = static_cast<std::uint8_t>(masked);
      auto it = decisions_.find(key_string(k));
      if (it != decisions_.end()) return it->second;
    }
    return std::nullopt;
  }

  const policy::CompiledPolicy& policy_;
  std::map<std::pair<Family, std::uint8_t>, std::map<std::array<std::uint8_t, 16>, sluice_class_chain>> classes_[2];
  std::unordered_map<std::string, std::uint32_t> groups_;
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
  auto check = [&](const policy::PacketHeaders& h, std::optional<std::size_t> rule, config::Action a) {
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

TEST(Compiler, EntriesCarryFirstMatchAcrossPortPrefixes) {
  // Any-proto rule first, then a narrower port rule with another action:
  // the narrower entry must still answer with the earlier rule.
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
  ASSERT_EQ(compiled.decisions.size(), 2u);
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
    }
  }
}

}  // namespace
