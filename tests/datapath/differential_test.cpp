// Random rulesets and random packets through the loaded BPF programs
// (BPF_PROG_TEST_RUN): every verdict and deciding rule must equal the
// reference evaluator's. A failure prints the seed; replay one ruleset with
//   SLUICE_DIFF_SEED=<seed> SLUICE_DIFF_RULESETS=1 sluice_datapath_tests
//   --gtest_filter='Differential*'
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <random>

#include "common/random_ruleset.h"
#include "common/structures_used.h"
#include "datapath/fixture.h"
#include "policy/reference_evaluator.h"

namespace sluice::testkit {
namespace {

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : fallback;
}

std::uint32_t expected_retval(config::Action a) {
  switch (a) {
    case config::Action::Accept:
      return TC_ACT_OK;
    case config::Action::Drop:
      return TC_ACT_SHOT;
    case config::Action::Reject:
      return TC_ACT_REDIRECT;  // the answer goes back out
  }
  return ~0u;
}

std::string describe(const policy::PacketHeaders& h, config::Chain chain) {
  config::Prefix s, d;
  s.family = d.family = h.family;
  s.addr = h.src;
  d.addr = h.dst;
  s.length = d.length = static_cast<std::uint8_t>(s.max_length());
  return std::string(config::to_string(chain)) + " " + s.to_string() + " -> " + d.to_string() +
         " proto " + std::to_string(h.proto) + " port " + std::to_string(h.dport) + " icmp " +
         std::to_string(h.icmp_type);
}

class Differential : public DatapathTest {
 protected:
  // Applies cfg and sends `packets` random packets through the programs:
  // each verdict and the counter of the deciding rule must be the
  // reference's. Returns the packets checked.
  std::size_t check(const config::Config& cfg, std::mt19937_64& rng, int packets,
                    const std::string& what) {
    std::vector<datapath::LocalAddress> locals;
    auto local_prefixes = random_local_addresses(rng, {});
    for (const auto& p : local_prefixes) locals.push_back({p.family, p.addr});
    policy::CompiledPolicy compiled;
    EXPECT_NO_THROW(compiled = policy::compile(cfg)) << what;
    if (::testing::Test::HasFailure()) return 0;
    used.add(compiled);
    dp.apply(compiled);
    dp.set_local_addresses(locals);
    dp.clear_conntrack();

    std::size_t checked = 0;
    for (int i = 0; i < packets; ++i) {
      auto chain = static_cast<config::Chain>(rng() % 3);
      auto pkt = random_packet(rng, cfg, chain, local_prefixes);
      auto sport = static_cast<std::uint16_t>(1024 + rng() % 60000);
      auto frame = PacketBuilder::from_headers(pkt, sport).build();
      auto ref = policy::evaluate(cfg, chain, pkt);

      auto counter = [&] {
        return ref.rule_index ? dp.rule_counter(static_cast<std::uint32_t>(*ref.rule_index)).packets
                              : dp.default_counter(chain).packets;
      };
      auto before = counter();
      int prog = chain == config::Chain::Output ? dp.tc_egress_fd() : dp.tc_ingress_fd();
      auto result = datapath::test_run(prog, frame);

      std::string where = what + " packet " + std::to_string(i) + ": " + describe(pkt, chain) +
                          "; reference says " +
                          (ref.rule_index ? "rule " + cfg.rules[*ref.rule_index].name : "default") +
                          " " + config::to_string(ref.action) + (ref.audit ? " (audit)" : "");
      EXPECT_EQ(result.retval, expected_retval(ref.effective())) << where;
      EXPECT_EQ(counter(), before + 1) << where << " (the deciding rule was not counted)";
      if (::testing::Test::HasFailure()) return checked;
      if (ref.effective() == config::Action::Accept) dp.clear_conntrack();
      ++checked;
    }
    return checked;
  }

  StructuresUsed used;
};

TEST_F(Differential, DatapathAgreesWithReferenceEvaluator) {
  const std::uint64_t first_seed = env_or("SLUICE_DIFF_SEED", 1);
  const std::uint64_t rulesets = env_or("SLUICE_DIFF_RULESETS", 200);
  const int packets = static_cast<int>(env_or("SLUICE_DIFF_PACKETS", 200));
  std::size_t checked = 0;
  for (std::uint64_t seed = first_seed; seed < first_seed + rulesets; ++seed) {
    std::mt19937_64 rng(seed);
    RulesetShape shape;
    shape.rules = 1 + rng() % 500;
    auto cfg = random_ruleset(rng, shape);
    checked += check(cfg, rng, packets, "seed " + std::to_string(seed));
    if (HasFailure()) return;
  }
  EXPECT_EQ(checked, rulesets * static_cast<std::size_t>(packets));
  if (rulesets >= 100) used.expect_each_used();
}

// Deep nesting (tests/common/random_ruleset.h, NestedShape): chains down to
// /32 and /128, siblings, lists mixing families, shadowed rules; 10 to
// 10,000 rules (log-uniform). Replay one with
//   SLUICE_DIFF_SEED=<seed> SLUICE_DIFF_RULESETS=1 ... --gtest_filter='*DeepNesting*'
TEST_F(Differential, DeepNestingAgreesWithReferenceEvaluator) {
  const std::uint64_t first_seed = env_or("SLUICE_DIFF_SEED", 1);
  const std::uint64_t rulesets = env_or("SLUICE_DIFF_RULESETS", 2000);
  const int packets = static_cast<int>(env_or("SLUICE_DIFF_PACKETS", 100));
  std::size_t checked = 0, largest = 0;
  for (std::uint64_t seed = first_seed; seed < first_seed + rulesets; ++seed) {
    std::mt19937_64 rng(seed);
    NestedShape shape;
    shape.rules = static_cast<std::size_t>(10.0 * std::pow(1000.0, (rng() % 1001) / 1000.0));
    largest = std::max(largest, shape.rules);
    auto cfg = random_nested_ruleset(rng, shape);
    checked +=
        check(cfg, rng, packets,
              "seed " + std::to_string(seed) + " (" + std::to_string(shape.rules) + " rules)");
    if (HasFailure()) return;
  }
  EXPECT_EQ(checked, rulesets * static_cast<std::size_t>(packets));
  std::cout << rulesets << " nested rulesets, the largest " << largest << " rules, " << checked
            << " packets agreed\n";
  if (rulesets >= 100) used.expect_each_used();
}

}  // namespace
}  // namespace sluice::testkit
