// Applying a ruleset is atomic: while 100,000-rule rulesets are applied
// back and forth, a concurrent stream of probe packets through the loaded
// program only ever sees the verdict of the old ruleset or of the new one.
#include <atomic>
#include <random>
#include <thread>

#include "common/random_ruleset.h"
#include "datapath/fixture.h"
#include "policy/reference_evaluator.h"

namespace sluice::testkit {
namespace {

using AtomicApply = DatapathTest;

constexpr std::size_t kRules = 100000;

// A large random forward ruleset with the probe rule at its head: in one
// variant the probes are accepted, in the other rejected. The chain default
// drops, so a packet that saw a half-written ruleset (no probe rule yet)
// would get a third verdict.
config::Config ruleset(std::uint64_t seed, config::Action probe_action) {
  std::mt19937_64 rng(seed);
  RulesetShape shape;
  shape.rules = kRules;
  shape.v4_networks = 200;
  shape.subnets = 200;
  auto cfg = random_ruleset(rng, shape);
  for (auto& r : cfg.rules) {
    r.chain = config::Chain::Forward;
    // Keep the random rules off the probe addresses (192.0.2.0/24).
    if (r.from.any && r.to.any)
      r.from = {false, {*config::parse_prefix("10.0.0.0/8").prefix}, {}, {}, {}};
  }
  config::Rule probe;
  probe.name = "probe";
  probe.chain = config::Chain::Forward;
  probe.from = {false, {*config::parse_prefix("192.0.2.0/25").prefix}, {}, {}, {}};
  probe.proto = config::Protocol::Tcp;
  probe.ports = {{8000, 8999}};
  probe.action = probe_action;
  cfg.rules.insert(cfg.rules.begin(), probe);
  cfg.chain_defaults = {config::Action::Drop, config::Action::Drop, config::Action::Accept};
  return cfg;
}

TEST_F(AtomicApply, ConcurrentProbesSeeTheOldOrTheNewRulesetNeverAMix) {
  auto accept_cfg = ruleset(1, config::Action::Accept);
  auto drop_cfg = ruleset(2, config::Action::Reject);
  auto accept_policy = policy::compile(accept_cfg);
  auto drop_policy = policy::compile(drop_cfg);

  // Probes: some the probe rule decides (its verdict flips), some only the
  // chain default decides (the same in both).
  struct Probe {
    std::vector<std::uint8_t> frame;
    std::uint32_t in_accept, in_drop;
  };
  std::vector<Probe> probes;
  for (int i = 0; i < 16; ++i) {
    std::string src = "192.0.2." + std::to_string(i < 8 ? 10 + i : 200 + i);
    policy::PacketHeaders h;
    h.src = config::parse_prefix(src).prefix->addr;
    h.dst = config::parse_prefix("198.51.100.7").prefix->addr;
    h.proto = 6;
    h.dport = static_cast<std::uint16_t>(8000 + i * 37);
    auto verdict = [&](const config::Config& c) -> std::uint32_t {
      switch (policy::evaluate(c, config::Chain::Forward, h).action) {
        case config::Action::Accept:
          return TC_ACT_OK;
        case config::Action::Drop:
          return TC_ACT_SHOT;
        case config::Action::Reject:
          return TC_ACT_REDIRECT;
      }
      return ~0u;
    };
    // SYN: every repetition is a new flow, judged by policy (drops are not
    // tracked; accepted ones are cleared below).
    probes.push_back(
        {PacketBuilder::from_headers(h, 40000).build(), verdict(accept_cfg), verdict(drop_cfg)});
  }
  ASSERT_EQ(probes[0].in_accept, static_cast<std::uint32_t>(TC_ACT_OK));
  ASSERT_EQ(probes[0].in_drop, static_cast<std::uint32_t>(TC_ACT_REDIRECT));

  dp.apply(accept_policy);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> sent{0}, wrong{0}, saw_accept{0}, saw_drop{0};
  std::thread prober([&] {
    // Accepted probes create conntrack entries; drop them so that every
    // probe is judged by policy, not by a flow an earlier probe opened.
    while (!stop) {
      for (const auto& p : probes) {
        auto v = datapath::test_run(dp.tc_ingress_fd(), p.frame).retval;
        if (v != p.in_accept && v != p.in_drop) ++wrong;
        if (p.in_accept != p.in_drop) (v == p.in_accept ? saw_accept : saw_drop)++;
        ++sent;
      }
      dp.clear_conntrack();
    }
  });

  for (int round = 0; round < 3; ++round) {
    dp.apply(drop_policy);
    dp.release_idle_generation();
    dp.apply(accept_policy);
    dp.release_idle_generation();
  }
  stop = true;
  prober.join();

  EXPECT_EQ(wrong.load(), 0u) << "of " << sent.load() << " probes";
  EXPECT_GT(saw_accept.load(), 0u);
  EXPECT_GT(saw_drop.load(), 0u) << "the stream must have seen the drop ruleset live";
  EXPECT_GT(sent.load(), 1000u);
}

}  // namespace
}  // namespace sluice::testkit
