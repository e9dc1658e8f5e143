// Workload identities: labels from the runtime and from [[endpoint]],
// identity numbers, and rules' container selectors resolved to addresses,
// checked against the reference evaluator and the compiled lookups.
#include "policy/identities.h"

#include <gtest/gtest.h>

#include "common/compiled_lookup.h"
#include "config/parser.h"
#include "config/selector.h"
#include "flows/workload_names.h"
#include "policy/compiler.h"
#include "policy/reference_evaluator.h"

namespace sluice {
namespace {

using config::Labels;

config::Config parse(const std::string& toml) {
  auto r = config::parse_string(toml, "t.toml", ".");
  if (!r.config) {
    std::string all;
    for (const auto& d : r.diagnostics) all += d.to_string() + "\n";
    ADD_FAILURE() << all;
    return {};
  }
  return *r.config;
}

config::Prefix host(const std::string& text) { return *config::parse_prefix(text).prefix; }

policy::Workload workload(const std::string& name, Labels labels, std::vector<std::string> addrs) {
  policy::Workload w{"sluice", "id-" + name, "eth0", name, std::move(labels), {}, {}};
  for (const auto& a : addrs) w.addresses.push_back(host(a));
  return w;
}

policy::PacketHeaders tcp(const std::string& src, const std::string& dst, std::uint16_t port) {
  policy::PacketHeaders p;
  auto s = host(src), d = host(dst);
  p.family = s.family;
  p.src = s.addr;
  p.dst = d.addr;
  p.proto = 6;
  p.dport = port;
  return p;
}

TEST(Selectors, GlobsMatchWholeNames) {
  EXPECT_TRUE(config::glob_matches("web-*", "web-1"));
  EXPECT_TRUE(config::glob_matches("web-*", "web-"));
  EXPECT_FALSE(config::glob_matches("web-*", "xweb-1"));
  EXPECT_TRUE(config::glob_matches("*-db", "orders-db"));
  EXPECT_FALSE(config::glob_matches("*-db", "orders-db2"));
  EXPECT_TRUE(config::glob_matches("a?c", "abc"));
  EXPECT_FALSE(config::glob_matches("a?c", "ac"));
  EXPECT_TRUE(config::glob_matches("*a*b*", "xxaxxbxx"));
  EXPECT_FALSE(config::glob_matches("*a*b*", "xxbxxaxx"));
  EXPECT_TRUE(config::glob_matches("exact", "exact"));
  EXPECT_FALSE(config::glob_matches("exact", "exact1"));
  // No exponential backtracking on a hostile glob.
  EXPECT_FALSE(config::glob_matches("*a*a*a*a*a*a*a*a*a*b", std::string(200, 'a')));
}

TEST(Selectors, SelectByEveryLabelAndTheName) {
  config::Selector s{{{"app", "web"}, {"tier", "front"}}, "web-*"};
  EXPECT_TRUE(config::selects(s, "web-1", {{"app", "web"}, {"tier", "front"}, {"x", "y"}}));
  EXPECT_FALSE(config::selects(s, "web-1", {{"app", "web"}}));
  EXPECT_FALSE(config::selects(s, "api-1", {{"app", "web"}, {"tier", "front"}}));
  EXPECT_FALSE(config::selects(s, "web-1", {{"app", "api"}, {"tier", "front"}}));
}

TEST(Identities, ConfigurationLabelsJoinAndOverrideTheRuntimes) {
  auto cfg = parse(
      "[[endpoint]]\nmatch = { container = \"web-*\" }\nlabels = { app = \"web\", tier = \"front\" "
      "}\n"
      "[[endpoint]]\nmatch = { container = \"*\", network = \"other\" }\nlabels = { zone = \"b\" "
      "}\n");
  auto w = workload("web-1", {{"app", "legacy"}, {"owner", "team-a"}}, {"10.89.0.2"});
  EXPECT_EQ(policy::labels_of(w, cfg),
            (Labels{{"app", "web"}, {"owner", "team-a"}, {"tier", "front"}}));
  w.network = "other";
  EXPECT_EQ(policy::labels_of(w, cfg).count("zone"), 1u) << "network-scoped [[endpoint]]";
  EXPECT_EQ(policy::labels_of(workload("db-1", {}, {}), cfg), Labels{});
}

TEST(Identities, OneNumberPerLabelSetKeptWhileItHasWorkloads) {
  policy::Identities ids;
  Labels web{{"app", "web"}}, api{{"app", "api"}}, db{{"app", "db"}};
  auto first = ids.assign({web, api, web});
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0], first[2]) << "same labels, same identity";
  EXPECT_NE(first[0], first[1]);
  EXPECT_GE(first[0], policy::kFirstIdentity);
  auto second = ids.assign({api, db});
  EXPECT_EQ(second[0], first[1]) << "an identity keeps its number";
  EXPECT_EQ(second[1], first[0])
      << "the last web workload went, and so did its identity: its number is free again";
  EXPECT_EQ(*ids.labels(second[1]), db);
  EXPECT_EQ(ids.size(), 2u);
  ids.assign({});
  EXPECT_EQ(ids.size(), 0u);
  EXPECT_EQ(ids.labels(second[0]), nullptr);
}

TEST(Identities, TheSameLabelsOnTwoNetworksAreTwoIdentities) {
  auto a = workload("web-1", {{"app", "web"}}, {});
  auto b = workload("web-2", {{"app", "web"}}, {});
  auto c = workload("web-3", {{"app", "web"}}, {});
  c.network = "other";
  policy::Identities ids;
  auto got = ids.assign({policy::identity_key(a, a.runtime_labels),
                         policy::identity_key(b, b.runtime_labels),
                         policy::identity_key(c, c.runtime_labels)});
  EXPECT_EQ(got[0], got[1]) << "names are not part of an identity";
  EXPECT_NE(got[0], got[2]);
  EXPECT_EQ(ids.labels(got[2])->at(policy::kNetworkLabel), "other");
}

// frontend -> api on TCP 80 allowed; everything else to the api dropped;
// the third container matches neither selector.
constexpr const char* kPolicy =
    "[chains]\nforward = \"accept\"\n"
    "[[endpoint]]\nmatch = { container = \"front*\" }\nlabels = { app = \"frontend\" }\n"
    "[[rule]]\nname = \"front-to-api\"\nchain = \"forward\"\nfrom = { labels = { app = "
    "\"frontend\" } }\nto = { container = \"api-*\" }\nproto = \"tcp\"\nport = 80\naction = "
    "\"accept\"\n"
    "[[rule]]\nname = \"nothing-else-to-api\"\nchain = \"forward\"\nto = { labels = { app = "
    "\"api\" } }\naction = \"drop\"\n"
    "[[rule]]\nname = \"from-nobody\"\nchain = \"forward\"\nfrom = { labels = { app = \"nobody\" } "
    "}\naction = \"drop\"\n";

std::vector<policy::Workload> three_workloads() {
  return {workload("frontend", {}, {"10.89.0.2", "fd00:89::2"}),
          workload("api-1", {{"app", "api"}}, {"10.89.0.3", "fd00:89::3"}),
          workload("other", {}, {"10.89.0.4", "fd00:89::4"})};
}

TEST(Identities, SelectorsResolveToTheAddressesOfTheWorkloadsTheySelect) {
  auto cfg = parse(kPolicy);
  ASSERT_TRUE(policy::uses_selectors(cfg));
  auto resolved = policy::resolve_selectors(cfg, three_workloads());
  EXPECT_EQ(resolved.rules[0].from.prefixes.size(), 2u);
  EXPECT_EQ(resolved.rules[0].to.prefixes.size(), 2u);
  EXPECT_EQ(resolved.rules[1].to.prefixes.size(), 2u);
  EXPECT_TRUE(resolved.rules[2].from.prefixes.empty()) << "selects nothing";
  EXPECT_FALSE(resolved.rules[2].from.any) << "a selector that selects nothing matches nothing";

  auto compiled = policy::compile(resolved);
  testkit::CompiledLookup lookup(compiled);
  struct Probe {
    std::string src, dst;
    std::uint16_t port;
    std::optional<std::size_t> rule;
  };
  std::vector<Probe> probes = {
      {"10.89.0.2", "10.89.0.3", 80, 0},    {"fd00:89::2", "fd00:89::3", 80, 0},
      {"10.89.0.2", "10.89.0.3", 81, 1},    {"10.89.0.4", "10.89.0.3", 80, 1},
      {"10.89.0.3", "10.89.0.2", 80, {}},   {"10.89.0.4", "192.0.2.1", 80, {}},
      {"fd00:89::4", "fd00:89::3", 443, 1},
  };
  for (const auto& p : probes) {
    auto pkt = tcp(p.src, p.dst, p.port);
    auto oracle = policy::evaluate(resolved, config::Chain::Forward, pkt);
    EXPECT_EQ(oracle.rule_index, p.rule) << p.src << " -> " << p.dst << ":" << p.port;
    auto got = lookup.decide(config::Chain::Forward, pkt);
    EXPECT_EQ(got.rule_index, oracle.rule_index) << p.src << " -> " << p.dst << ":" << p.port;
  }
}

TEST(Identities, WithoutWorkloadsSelectorRulesMatchNothing) {
  auto resolved = policy::resolve_selectors(parse(kPolicy), {});
  auto compiled = policy::compile(resolved);
  testkit::CompiledLookup lookup(compiled);
  auto pkt = tcp("10.89.0.2", "10.89.0.3", 80);
  EXPECT_FALSE(policy::evaluate(resolved, config::Chain::Forward, pkt).rule_index);
  EXPECT_FALSE(lookup.decide(config::Chain::Forward, pkt).rule_index);
}

TEST(WorkloadNames, NameAndTheLabelsOfTheIdentitySeen) {
  flows::WorkloadNames names;
  names.labels = {{256, "app=web"}, {257, "app=web, v=2"}};
  names.by_address = {{"10.89.0.2", {"web-1", 256}}};
  EXPECT_EQ(names.describe("10.89.0.2"), "web-1 (app=web)");
  EXPECT_EQ(names.describe("10.89.0.2", 257), "web-1 (app=web, v=2)");
  EXPECT_EQ(names.describe("10.89.0.9"), "");
  EXPECT_EQ(names.describe("10.89.0.9", 256), "(app=web)") << "gone, but its identity known";
}

}  // namespace
}  // namespace sluice
