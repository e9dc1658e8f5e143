// The compiled maps, looked up the way bpf/lib/policy.h looks them up,
// must give the reference evaluator's verdict. This runs without a kernel;
// tests/datapath/differential_test.cpp repeats it through the real programs.
#include "policy/compiler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <unordered_map>

#include "common/compiled_lookup.h"
#include "common/random_ruleset.h"
#include "common/structures_used.h"
#include "config/parser.h"
#include "policy/longest_match.h"
#include "policy/reference_evaluator.h"
#include "policy/ruleset.h"

namespace {

using namespace sluice;
using config::Family;

using testkit::CompiledLookup;

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
name = "ssh"
chain = "input"
proto = "tcp"
port = 22
action = "drop"
[[rule]]
name = "all-tcp"
chain = "input"
proto = "tcp"
action = "accept"
[[rule]]
name = "shadowed"
chain = "input"
proto = "tcp"
port = 80
action = "drop"
)");
  auto compiled = policy::compile(cfg);
  ASSERT_EQ(compiled.groups.size(), 1u);
  EXPECT_TRUE(compiled.decisions.empty());
  const auto& g = compiled.groups[0].value;
  ASSERT_EQ(g.inline_count, 2) << "the shadowed rule takes no room";
  EXPECT_EQ(g.inline_rules[0].decision.rule_index, 0u);
  EXPECT_EQ(g.inline_rules[0].proto, 6);
  EXPECT_EQ(g.inline_rules[0].first, 22);
  EXPECT_EQ(g.inline_rules[0].last, 22);
  EXPECT_EQ(g.inline_rules[1].decision.rule_index, 1u);
  EXPECT_EQ(g.inline_rules[1].first, 0);
  EXPECT_EQ(g.inline_rules[1].last, 0xffff);
}

TEST(Compiler, ExpandedEntriesCarryTheFirstMatchOfShorterPrefixes) {
  // More rules in one group than fit inline. 2000-2100 overlaps the
  // earlier 1024-2047: its port prefixes inside that range answer with
  // the earlier rule, so they need no entries of their own.
  std::string toml =
      "[[rule]]\nname = \"low\"\nchain = \"input\"\nproto = \"tcp\"\nport = \"1024-2047\"\n"
      "action = \"accept\"\n"
      "[[rule]]\nname = \"overlap\"\nchain = \"input\"\nproto = \"tcp\"\nport = \"2000-2100\"\n"
      "action = \"drop\"\n";
  for (int port = 5; port <= 4 + SLUICE_GROUP_INLINE; ++port)
    toml += "[[rule]]\nname = \"p" + std::to_string(port) +
            "\"\nchain = \"input\"\nproto = \"tcp\"\nport = " + std::to_string(port * 1000) +
            "\naction = \"reject\"\n";
  auto cfg = parse(toml.c_str());
  auto compiled = policy::compile(cfg);
  ASSERT_EQ(compiled.groups.size(), 1u);
  EXPECT_EQ(compiled.groups[0].value.inline_count, 0);
  for (const auto& d : compiled.decisions) {
    std::uint16_t port = static_cast<std::uint16_t>(d.key.port[0] << 8 | d.key.port[1]);
    if (d.value.rule_index == 1) {
      EXPECT_GE(port, 2048) << "an entry the earlier rule decides";
    }
  }
  CompiledLookup dp(compiled);
  for (auto [port, rule] : std::vector<std::pair<std::uint16_t, std::size_t>>{
           {1024, 0}, {2010, 0}, {2047, 0}, {2048, 1}, {2100, 1}, {5000, 2}, {8000, 5}}) {
    auto h = tcp4("10.0.0.1", "10.0.0.2", port);
    EXPECT_EQ(dp.decide(config::Chain::Input, h).rule_index, rule) << "port " << port;
    EXPECT_EQ(policy::evaluate(cfg, config::Chain::Input, h).rule_index, rule) << "port " << port;
  }
}

TEST(Compiler, RejectsRulesetsBeyondCapacity) {
  config::Config cfg;
  cfg.rules.resize(SLUICE_MAX_RULES + 1);
  EXPECT_THROW(policy::compile(cfg), policy::CapacityError);
}

TEST(Compiler, AgreesWithReferenceOnRandomRulesets) {
  testkit::StructuresUsed used;
  for (std::uint64_t seed = 1; seed <= 150; ++seed) {
    std::mt19937_64 rng(seed);
    testkit::RulesetShape shape;
    shape.rules = 1 + rng() % 300;
    if (seed % 2) shape.interfaces = {"lan0", "lan1", "wan0"};
    auto cfg = testkit::random_ruleset(rng, shape);
    auto local = testkit::random_local_addresses(rng, shape);
    auto compiled = policy::compile(cfg);
    used.add(compiled);
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
  used.expect_each_used();
}

// The most hash probes one decision can take, whatever the ruleset: per
// context (the chain's, and up to 3 of its interfaces, each found by one
// probe), the source search and the "any" scope's length set, then per
// scope (the source's, and "any"'s) its length set, the destination search,
// the group and its shapes.
constexpr int kProbesPerContext =
    SLUICE_MAX_SEARCH_STEPS + 1 +
    (SLUICE_MAX_SOURCE_SCOPES + 1) * (1 + SLUICE_MAX_SEARCH_STEPS + 1 + SLUICE_MAX_MATCH_SHAPES);
constexpr int kMaxProbes = 3 + 4 * kProbesPerContext;

// Deep nesting (chains to /32 and /128, siblings, lists mixing families,
// shadowed rules), 10 to 10,000 rules: never refused, always the
// reference's verdict, within the probe bound.
TEST(Compiler, DeepNestingIsNeverRefusedAndAgreesWithReference) {
  const std::uint64_t rulesets = 400;
  int most_probes = 0;
  testkit::StructuresUsed used;
  for (std::uint64_t seed = 1; seed <= rulesets; ++seed) {
    std::mt19937_64 rng(seed);
    testkit::NestedShape shape;
    if (seed % 2) shape.interfaces = {"lan0", "lan1", "wan0"};
    // Log-uniform from 10 to 10,000 rules.
    shape.rules = static_cast<std::size_t>(10.0 * std::pow(1000.0, (rng() % 1001) / 1000.0));
    auto cfg = testkit::random_nested_ruleset(rng, shape);
    auto local = testkit::random_local_addresses(rng, {});
    policy::CompiledPolicy compiled;
    ASSERT_NO_THROW(compiled = policy::compile(cfg)) << "seed " << seed;
    used.add(compiled);
    CompiledLookup dp(compiled);
    for (int i = 0; i < 200; ++i) {
      auto chain = static_cast<config::Chain>(rng() % 3);
      auto pkt = testkit::random_packet(rng, cfg, chain, local);
      auto ref = policy::evaluate(cfg, chain, pkt);
      auto got = dp.decide(chain, pkt);
      std::string where = "seed " + std::to_string(seed) + " (" + std::to_string(shape.rules) +
                          " rules) packet " + std::to_string(i);
      ASSERT_EQ(got.rule_index, ref.rule_index) << where;
      ASSERT_EQ(got.action, ref.action) << where;
      ASSERT_EQ(got.audit, ref.audit) << where;
      ASSERT_LE(dp.last_probes(), kMaxProbes) << where;
      most_probes = std::max(most_probes, dp.last_probes());
    }
  }
  std::cout << "most hash probes for one decision: " << most_probes << " (bound " << kMaxProbes
            << ")\n";
  used.expect_each_used();
}

TEST(LongestMatch, MarkersLeadTheSearchToEveryPrefixAndCarryTheirContainer) {
  // Prefixes of scattered lengths, nested and not, around one address:
  // every address must find the longest prefix containing it.
  std::mt19937_64 rng(7);
  config::Prefix host = *config::parse_prefix("203.0.113.77").prefix;
  std::vector<policy::MatchEntry> prefixes;
  std::set<config::Prefix> seen;
  for (std::uint32_t value = 1; prefixes.size() < 60; ++value) {
    auto p = host;
    int len = static_cast<int>(rng() % 33);
    for (int bit = static_cast<int>(rng() % 33); bit < 32; ++bit)
      if (rng() % 4 == 0) p.addr[bit / 8] ^= static_cast<std::uint8_t>(0x80 >> (bit % 8));
    p.length = static_cast<std::uint8_t>(len);
    p = config::masked(p);
    if (seen.insert(p).second) prefixes.push_back({p, value, {}});
  }
  auto table = policy::build_longest_match(prefixes);
  std::map<std::pair<int, std::array<std::uint8_t, 16>>, policy::MatchEntry> entries;
  for (const auto& e : table.entries) entries[{e.prefix.length, e.prefix.addr}] = e;
  for (int i = 0; i < 2000; ++i) {
    auto addr = host.addr;
    int keep = static_cast<int>(rng() % 33);
    for (int bit = keep; bit < 32; ++bit)
      if (rng() & 1) addr[bit / 8] ^= static_cast<std::uint8_t>(0x80 >> (bit % 8));
    std::uint32_t expected = 0;
    int best = -1;
    for (const auto& p : prefixes)
      if (p.prefix.contains_address(addr, Family::V4) && p.prefix.length > best)
        best = p.prefix.length, expected = p.value;
    std::uint32_t found = 0;
    policy::longest_match_search(table.lengths, [&](std::uint8_t len, policy::SearchSpan& below) {
      config::Prefix probe;
      probe.addr = addr;
      probe.length = len;
      auto hit = entries.find({probe.length, config::masked(probe).addr});
      if (hit == entries.end()) return false;
      found = hit->second.value;
      below = hit->second.below;
      return true;
    });
    ASSERT_EQ(found, expected) << "address " << i;
  }
}

// The cost of a search follows the address's neighbourhood, not the
// lengths the rest of the table uses: beside a chain with every length
// from /8 to /32, an address inside nothing misses once, and one under a
// lone host route takes two probes (its marker at /8, then the route).
TEST(LongestMatch, AnAddressInASparseRegionTakesOneOrTwoProbes) {
  std::vector<policy::MatchEntry> prefixes;
  std::uint32_t value = 1;
  for (int len = 8; len <= 32; ++len) {
    auto p = *config::parse_prefix("10.20.30.40").prefix;
    p.length = static_cast<std::uint8_t>(len);
    prefixes.push_back({config::masked(p), value++, {}});
  }
  const std::uint32_t lone = value;
  prefixes.push_back({*config::parse_prefix("192.0.2.1").prefix, lone, {}});
  auto table = policy::build_longest_match(prefixes);
  std::map<std::pair<int, std::array<std::uint8_t, 16>>, policy::MatchEntry> entries;
  for (const auto& e : table.entries) entries[{e.prefix.length, e.prefix.addr}] = e;
  auto search = [&](const char* address, int& probes) {
    auto addr = config::parse_prefix(address).prefix->addr;
    std::uint32_t found = 0;
    probes = 0;
    policy::longest_match_search(table.lengths, [&](std::uint8_t len, policy::SearchSpan& below) {
      ++probes;
      config::Prefix probe;
      probe.addr = addr;
      probe.length = len;
      auto hit = entries.find({len, config::masked(probe).addr});
      if (hit == entries.end()) return false;
      found = hit->second.value;
      below = hit->second.below;
      return true;
    });
    return found;
  };
  int probes = 0;
  EXPECT_EQ(search("192.0.2.1", probes), lone);
  EXPECT_EQ(probes, 2);
  EXPECT_EQ(search("192.0.2.2", probes), 0u);
  EXPECT_EQ(probes, 2);
  EXPECT_EQ(search("203.0.113.1", probes), 0u);
  EXPECT_EQ(probes, 1);
  // Deep in the chain the search is a binary search: more probes, bounded.
  EXPECT_EQ(search("10.20.30.40", probes), value - 1);
  EXPECT_LE(probes, static_cast<int>(SLUICE_MAX_SEARCH_STEPS));
  EXPECT_GT(probes, 2);
}

}  // namespace

namespace {

// Limits are reached with small rulesets by passing small ones: the error
// must point at the rule that needs the most, at its own line.
TEST(CompilerLimits, ErrorsPointAtTheRuleThatNeedsTheMost) {
  std::string toml = R"([[rule]]
name = "small"
chain = "forward"
from = "192.0.2.0/24"
action = "accept"

[[rule]]
name = "wide"
chain = "forward"
from = "10.0.0.0/8"
to = [)";
  for (int i = 0; i < 30; ++i)
    toml += (i ? ", " : "") + std::string("\"198.51.100.") + std::to_string(i) + "\"";
  toml += "]\naction = \"drop\"\n";

  policy::Limits limits;
  limits.targets = 20;
  auto r = policy::load_ruleset_text(toml, "/etc/sluice/big.toml", {}, limits);
  ASSERT_FALSE(r.ruleset);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  const auto& d = r.diagnostics[0];
  EXPECT_EQ(d.where.file, "/etc/sluice/big.toml");
  EXPECT_EQ(d.where.line, 7) << d.to_string();
  EXPECT_EQ(d.key, "rule[1]");
  EXPECT_NE(d.message.find("'wide' needs the most"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("destination entries"), std::string::npos) << d.message;

  limits = {};
  limits.rules = 1;
  r = policy::load_ruleset_text(toml, "/etc/sluice/big.toml", {}, limits);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].where.line, 7) << "the first rule beyond the limit";
  EXPECT_NE(r.diagnostics[0].message.find("2 rules"), std::string::npos);

  // With the real maps the same ruleset is fine.
  EXPECT_TRUE(policy::load_ruleset_text(toml, "/etc/sluice/big.toml").ruleset);

  // Destination tables: each rule's scope names two destinations, a table.
  std::string tables_toml;
  for (int i = 0; i < 3; ++i)
    tables_toml += "[[rule]]\nname = \"t" + std::to_string(i) +
                   "\"\nchain = \"forward\"\nfrom = \"10.0." + std::to_string(i) +
                   ".0/24\"\nto = [\"198.51.100.1\", \"198.51.100.2\"]\naction = \"drop\"\n\n";
  limits = {};
  limits.tables = 2;
  r = policy::load_ruleset_text(tables_toml, "/etc/sluice/t.toml", {}, limits);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].where.line, 1);
  EXPECT_NE(r.diagnostics[0].message.find("needs 3 destination tables; the datapath holds 2"),
            std::string::npos)
      << r.diagnostics[0].message;
  limits.tables = 3;
  EXPECT_TRUE(policy::load_ruleset_text(tables_toml, "/etc/sluice/t.toml", {}, limits).ruleset);
}

}  // namespace
