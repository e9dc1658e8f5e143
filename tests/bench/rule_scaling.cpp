// Per-packet cost of the tc ingress program against the number of rules,
// and the time to compile and apply each ruleset.
//
// Two shapes of ruleset. Mixed: /32, /24 and /16 (IPv4) and /128, /64,
// /48 (IPv6) sources and destinations, "any" on one side, single ports,
// port ranges, any-port and any-protocol rules. Deep nesting: the same, but
// prefixes from chains nested from /8 to /32 and /16 to /128. Probe packets are judged by a rule at
// the head of the list (early), one at its tail (late), or by the chain
// default (none); new-flow probes hit drop rules, so every repetition runs
// the whole policy lookup; the established probe belongs to a tracked flow.
//
//   rule_scaling [--report FILE] [--repeat N] [--rounds N] [--quick]
#include <linux/pkt_cls.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

#include "common/packet_builder.h"
#include "datapath/datapath.h"
#include "datapath/test_run.h"
#include "policy/compiler.h"

namespace {

using namespace sluice;
using config::Family;
using config::Prefix;
using testkit::PacketBuilder;

// Probe traffic lives in 198.18.0.0/15 and 2001:2::/48 (benchmarking
// ranges); random rules never touch them.
Prefix host4(std::uint32_t a) {
  Prefix p;
  p.addr[0] = static_cast<std::uint8_t>(a >> 24);
  p.addr[1] = static_cast<std::uint8_t>(a >> 16);
  p.addr[2] = static_cast<std::uint8_t>(a >> 8);
  p.addr[3] = static_cast<std::uint8_t>(a);
  p.length = 32;
  return p;
}

bool in_probe_range(const Prefix& p) {
  if (p.family == Family::V4) return p.addr[0] == 198 && (p.addr[1] & 0xfe) == 18;
  return p.addr[0] == 0x20 && p.addr[1] == 0x01 && p.addr[2] == 0 && p.addr[3] == 2;
}

Prefix random_prefix(std::mt19937_64& rng, Family f) {
  Prefix p;
  p.family = f;
  do {
    if (f == Family::V4) {
      p = host4(static_cast<std::uint32_t>(rng()));
      p.addr[0] = static_cast<std::uint8_t>(1 + rng() % 223);
      static const int lengths[] = {32, 32, 24, 24, 16};
      p.length = static_cast<std::uint8_t>(lengths[rng() % 5]);
    } else {
      p.family = Family::V6;
      p.addr[0] = 0x20;
      p.addr[1] = 0x01;
      for (int i = 2; i < 16; ++i) p.addr[i] = static_cast<std::uint8_t>(rng());
      static const int lengths[] = {128, 128, 64, 64, 48};
      p.length = static_cast<std::uint8_t>(lengths[rng() % 5]);
    }
    p = config::masked(p);
  } while (in_probe_range(p));
  return p;
}

// Protocol, ports and action: TCP or UDP with a port, a range or any
// port, now and then any protocol.
void random_match(std::mt19937_64& rng, config::Rule& r) {
  int kind = static_cast<int>(rng() % 10);
  if (kind == 0) {
    r.proto = config::Protocol::Any;
  } else {
    r.proto = kind < 7 ? config::Protocol::Tcp : config::Protocol::Udp;
    int ports = static_cast<int>(rng() % 10);
    if (ports < 5) {
      auto p = static_cast<std::uint16_t>(1 + rng() % 65535);
      r.ports.push_back({p, p});
    } else if (ports < 8) {
      auto a = static_cast<std::uint16_t>(1 + rng() % 60000);
      r.ports.push_back({a, static_cast<std::uint16_t>(a + rng() % 5000)});
    }  // else any port
  }
  r.action = rng() % 2 ? config::Action::Accept : config::Action::Drop;
}

config::Rule random_rule(std::mt19937_64& rng, std::size_t i) {
  config::Rule r;
  r.name = "r" + std::to_string(i);
  r.chain = config::Chain::Forward;
  Family f = rng() % 5 == 0 ? Family::V6 : Family::V4;
  // One side may be "any", never both: a rule matching everything would
  // judge the probes.
  int any_side = static_cast<int>(rng() % 5);  // 0: from any, 1: to any, else neither
  if (any_side != 0) r.from = {false, {random_prefix(rng, f)}, {}, {}, {}};
  if (any_side != 1) r.to = {false, {random_prefix(rng, f)}, {}, {}, {}};
  random_match(rng, r);
  return r;
}

// The deep-nesting shape: prefixes from chains of nested prefixes, a /8
// down to /32 or a /16 down to /128 with about 60% of the lengths present
// (as provider and country ranges nest, and allowlists carved out of
// blocklists), about as many prefixes as rules: one IPv4 chain per 12
// rules, one IPv6 chain per 200.
struct NestedPool {
  std::vector<Prefix> v4, v6;
};

NestedPool nested_pool(std::mt19937_64& rng, std::size_t rules) {
  NestedPool pool;
  for (Family f : {Family::V4, Family::V6}) {
    std::size_t chains = std::max<std::size_t>(1, rules / (f == Family::V4 ? 12 : 200));
    for (std::size_t c = 0; c < chains; ++c) {
      Prefix host;
      host.family = f;
      do {
        for (int b = 0; b < host.max_length() / 8; ++b)
          host.addr[static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(rng());
        if (f == Family::V4) host.addr[0] = static_cast<std::uint8_t>(1 + rng() % 223);
        if (f == Family::V6) host.addr[0] = static_cast<std::uint8_t>(0x24 + rng() % 8);
      } while (f == Family::V4 && (host.addr[0] == 198 || host.addr[0] == 127));
      int top = f == Family::V4 ? 8 : 16;
      for (int len = top; len <= host.max_length(); ++len) {
        if (len != top && rng() % 10 >= 6) continue;
        Prefix p = host;
        p.length = static_cast<std::uint8_t>(len);
        (f == Family::V4 ? pool.v4 : pool.v6).push_back(config::masked(p));
      }
    }
  }
  return pool;
}

config::Rule nested_rule(std::mt19937_64& rng, const NestedPool& pool, std::size_t i) {
  config::Rule r;
  r.name = "n" + std::to_string(i);
  r.chain = config::Chain::Forward;
  const auto& from_pool = rng() % 5 == 0 ? pool.v6 : pool.v4;
  auto pick = [&] { return from_pool[rng() % from_pool.size()]; };
  int any_side = static_cast<int>(rng() % 5);
  if (any_side != 0) r.from = {false, {pick()}, {}, {}, {}};
  if (any_side != 1) r.to = {false, {pick()}, {}, {}, {}};
  random_match(rng, r);
  return r;
}

struct Probe {
  const char* name;
  std::vector<std::uint8_t> frame;
  std::uint32_t expect;  // TC_ACT_*
  bool established;      // run once first so the flow is tracked
};

config::Rule probe_rule(const char* name, const char* from, const char* to, std::uint16_t port,
                        config::Action action) {
  config::Rule r;
  r.name = name;
  r.chain = config::Chain::Forward;
  r.from = {false, {*config::parse_prefix(from).prefix}, {from}, {}, {}};
  r.to = {false, {*config::parse_prefix(to).prefix}, {to}, {}, {}};
  r.proto = config::Protocol::Tcp;
  r.ports = {{port, port}};
  r.action = action;
  return r;
}

enum class Shape { Mixed, Nested };

// n rules in all: early probe rules first, random ones, late ones last.
config::Config bench_ruleset(Shape shape, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  NestedPool pool;
  if (shape == Shape::Nested) pool = nested_pool(rng, n);
  config::Config cfg;
  cfg.chain_defaults = {config::Action::Drop, config::Action::Drop, config::Action::Accept};
  cfg.rules.push_back(
      probe_rule("early-v4", "198.18.0.1", "198.19.0.1", 5001, config::Action::Drop));
  cfg.rules.push_back(
      probe_rule("early-v6", "2001:2::1", "2001:2:0:1::1", 5001, config::Action::Drop));
  const std::size_t fixed = 6;
  for (std::size_t i = 0; i + fixed < n; ++i)
    cfg.rules.push_back(shape == Shape::Mixed ? random_rule(rng, i) : nested_rule(rng, pool, i));
  cfg.rules.push_back(
      probe_rule("late-v4", "198.18.0.2", "198.19.0.0/24", 5002, config::Action::Drop));
  cfg.rules.push_back(
      probe_rule("late-v6", "2001:2::2", "2001:2:0:1::/64", 5002, config::Action::Drop));
  cfg.rules.push_back(
      probe_rule("est-v4", "198.18.0.3", "198.19.0.3", 5003, config::Action::Accept));
  cfg.rules.push_back(
      probe_rule("est-v6", "2001:2::3", "2001:2:0:1::3", 5003, config::Action::Accept));
  return cfg;
}

std::vector<Probe> probes() {
  return {
      {"new, early rule (IPv4)",
       PacketBuilder::ipv4("198.18.0.1", "198.19.0.1").tcp(40000, 5001, testkit::kSyn).build(),
       TC_ACT_SHOT, false},
      {"new, late rule (IPv4)",
       PacketBuilder::ipv4("198.18.0.2", "198.19.0.9").tcp(40000, 5002, testkit::kSyn).build(),
       TC_ACT_SHOT, false},
      {"new, no rule (IPv4)",
       PacketBuilder::ipv4("198.18.0.4", "198.19.0.4").tcp(40000, 5004, testkit::kSyn).build(),
       TC_ACT_SHOT, false},
      {"new, early rule (IPv6)",
       PacketBuilder::ipv6("2001:2::1", "2001:2:0:1::1").tcp(40000, 5001, testkit::kSyn).build(),
       TC_ACT_SHOT, false},
      {"new, late rule (IPv6)",
       PacketBuilder::ipv6("2001:2::2", "2001:2:0:1::9").tcp(40000, 5002, testkit::kSyn).build(),
       TC_ACT_SHOT, false},
      {"new, no rule (IPv6)",
       PacketBuilder::ipv6("2001:2::4", "2001:2:0:1::4").tcp(40000, 5004, testkit::kSyn).build(),
       TC_ACT_SHOT, false},
      {"established (IPv4)",
       PacketBuilder::ipv4("198.18.0.3", "198.19.0.3").tcp(40000, 5003, testkit::kAck).build(),
       TC_ACT_OK, true},
      {"established (IPv6)",
       PacketBuilder::ipv6("2001:2::3", "2001:2:0:1::3").tcp(40000, 5003, testkit::kAck).build(),
       TC_ACT_OK, true},
  };
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct SizeResult {
  std::size_t rules = 0;
  std::vector<double> compile_ms, apply_ms, release_ms;
  std::size_t entries = 0;
  double memory_mib = 0;                          // policy maps holding this ruleset alone
  std::map<std::string, std::vector<double>> ns;  // probe -> ns/packet per round
};

// Memory the policy maps take (kernel accounting), in MiB.
double policy_memory_mib(const datapath::Datapath& dp) {
  static const std::vector<std::string> policy_maps = {
      "source_classes", "source_lengths", "any_scopes", "length_sets",
      "targets",        "dest_tables",    "groups",     "decisions"};
  std::size_t bytes = 0;
  for (const auto& m : dp.map_usage(dp.count_conntrack_tables()))
    if (std::find(policy_maps.begin(), policy_maps.end(), m.name) != policy_maps.end())
      bytes += m.memory;
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

struct Options {
  std::uint32_t repeat = 100000;
  int rounds = 5;
  std::vector<std::size_t> sizes = {10, 1000, 10000, 100000};
};

// Runs every size of one shape, interleaved round by round (so that a slow
// moment of the machine spreads over all of them instead of skewing one
// column); returns the results, or an empty vector when a probe got the
// wrong verdict.
std::vector<SizeResult> run_shape(datapath::Datapath& dp, Shape shape, const Options& o) {
  auto probe_list = probes();
  std::vector<SizeResult> results(o.sizes.size());
  std::vector<config::Config> rulesets;
  for (std::size_t i = 0; i < o.sizes.size(); ++i) {
    results[i].rules = o.sizes[i];
    rulesets.push_back(bench_ruleset(shape, o.sizes[i], 42 + o.sizes[i]));
  }
  for (int round = 0; round < o.rounds; ++round) {
    for (std::size_t i = 0; i < o.sizes.size(); ++i) {
      auto& r = results[i];
      auto t0 = std::chrono::steady_clock::now();
      auto compiled = policy::compile(rulesets[i]);
      auto t1 = std::chrono::steady_clock::now();
      dp.apply(compiled);
      auto t2 = std::chrono::steady_clock::now();
      dp.release_idle_generation();
      auto t3 = std::chrono::steady_clock::now();
      r.compile_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      r.apply_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
      r.release_ms.push_back(std::chrono::duration<double, std::milli>(t3 - t2).count());
      r.entries = compiled.map_entries();
      r.memory_mib = policy_memory_mib(dp);
      dp.clear_conntrack();

      for (const auto& p : probe_list) {
        if (p.established) {
          auto syn = p.frame;
          std::size_t l3 = testkit::l3_offset(syn);
          std::size_t l4 = l3 + ((syn[l3] >> 4) == 4 ? 20 : 40);
          syn[l4 + 13] = testkit::kSyn;  // the flow's first packet, then ACKs
          datapath::test_run(dp.tc_ingress_fd(), syn);
        }
        auto res = datapath::test_run(dp.tc_ingress_fd(), p.frame, o.repeat);
        if (res.retval != p.expect) {
          std::cerr << r.rules << " rules, probe '" << p.name << "': verdict " << res.retval
                    << ", expected " << p.expect << "\n";
          return {};
        }
        r.ns[p.name].push_back(res.duration_ns);
      }
    }
  }
  for (const auto& r : results)
    std::cerr << r.rules << " rules: compile " << median(r.compile_ms) << " ms, apply "
              << median(r.apply_ms) << " ms, " << r.entries << " map entries\n";
  return results;
}

std::string table(const std::vector<SizeResult>& results) {
  auto probe_list = probes();
  std::ostringstream md;
  md << std::fixed << std::setprecision(0);
  md << "| probe |";
  for (const auto& r : results) md << " " << r.rules << " rules |";
  md << " largest / smallest |\n|---|";
  for (std::size_t i = 0; i <= results.size(); ++i) md << "---:|";
  md << "\n";
  for (const auto& p : probe_list) {
    md << "| " << p.name << " (ns/packet) |";
    for (const auto& r : results) md << " " << median(r.ns.at(p.name)) << " |";
    md << " " << std::setprecision(2)
       << median(results.back().ns.at(p.name)) / median(results.front().ns.at(p.name)) << "x |\n"
       << std::setprecision(0);
  }
  md << std::setprecision(1);
  md << "| compile (ms) |";
  for (const auto& r : results) md << " " << median(r.compile_ms) << " |";
  md << " |\n| apply: write maps + flip (ms) |";
  for (const auto& r : results) md << " " << median(r.apply_ms) << " |";
  md << " |\n| **compile + apply: new rules live (ms)** |";
  for (const auto& r : results) md << " " << median(r.compile_ms) + median(r.apply_ms) << " |";
  md << " |\n| free the previous ruleset, after the flip (ms) |";
  for (const auto& r : results) md << " " << median(r.release_ms) << " |";
  md << " |\n| map entries |";
  for (const auto& r : results) md << " " << r.entries << " |";
  md << " |\n| policy map memory (MiB) |";
  for (const auto& r : results) md << " " << r.memory_mib << " |";
  md << " |\n";
  return md.str();
}

// Replaces the text between <!-- NAME:begin --> and <!-- NAME:end -->.
bool replace_section(std::string& text, const std::string& name, const std::string& body) {
  const std::string begin = "<!-- " + name + ":begin -->", end = "<!-- " + name + ":end -->";
  auto b = text.find(begin), e = text.find(end);
  if (b == std::string::npos || e == std::string::npos) {
    std::cerr << "the report has no " << begin << " ... " << end << " section\n";
    return false;
  }
  text.replace(b, e - b, begin + "\n" + body);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string report;
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--report" && i + 1 < argc)
      report = argv[++i];
    else if (a == "--repeat" && i + 1 < argc)
      o.repeat = static_cast<std::uint32_t>(std::stoul(argv[++i]));
    else if (a == "--rounds" && i + 1 < argc)
      o.rounds = std::stoi(argv[++i]);
    else if (a == "--quick")
      o.repeat = 1000, o.rounds = 1, o.sizes = {10, 1000};
    else {
      std::cerr << "usage: rule_scaling [--report FILE] [--repeat N] [--rounds N] [--quick]\n";
      return 2;
    }
  }

  datapath::Datapath dp;
  auto mixed = run_shape(dp, Shape::Mixed, o);
  if (mixed.empty()) return 1;
  auto nested = run_shape(dp, Shape::Nested, o);
  if (nested.empty()) return 1;
  std::string header = "Repeat " + std::to_string(o.repeat) + ", median of " +
                       std::to_string(o.rounds) + " rounds.\n\n";
  std::cout << "Mixed shapes:\n" << table(mixed) << "\nDeep nesting:\n" << table(nested);

  if (!report.empty()) {
    std::ifstream in(report);
    std::stringstream whole;
    whole << in.rdbuf();
    std::string text = whole.str();
    if (!replace_section(text, "rule_scaling", header + table(mixed)) ||
        !replace_section(text, "rule_scaling_nested", header + table(nested)))
      return 1;
    std::ofstream(report) << text;
  }
  return 0;
}
