#include "common/random_ruleset.h"

#include <algorithm>

namespace sluice::testkit {

namespace {

using config::Family;
using config::Prefix;

template <typename T>
const T& pick(std::mt19937_64& rng, const std::vector<T>& v) {
  return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
}

int uniform(std::mt19937_64& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

bool chance(std::mt19937_64& rng, double p) { return std::bernoulli_distribution(p)(rng); }

// A host address inside the pools: 10.<net>.<0-7>.<x> or 2001:db8:<net>:<0-7>::<x>.
Prefix random_host(std::mt19937_64& rng, Family f, const RulesetShape& shape) {
  Prefix p;
  p.family = f;
  if (f == Family::V4) {
    p.addr[0] = 10;
    p.addr[1] = static_cast<std::uint8_t>(uniform(rng, 1, shape.v4_networks));
    p.addr[2] = static_cast<std::uint8_t>(uniform(rng, 0, shape.subnets - 1));
    p.addr[3] = static_cast<std::uint8_t>(uniform(rng, 0, 255));
    p.length = 32;
  } else {
    p.addr[0] = 0x20, p.addr[1] = 0x01, p.addr[2] = 0x0d, p.addr[3] = 0xb8;
    p.addr[5] = static_cast<std::uint8_t>(uniform(rng, 1, shape.v6_networks));
    p.addr[7] = static_cast<std::uint8_t>(uniform(rng, 0, shape.subnets - 1));
    p.addr[15] = static_cast<std::uint8_t>(uniform(rng, 0, 255));
    p.length = 128;
  }
  return p;
}

// /32 /24 /16 (IPv4) or /128 /64 /48 (IPv6), sometimes odd lengths.
Prefix random_prefix(std::mt19937_64& rng, const RulesetShape& shape) {
  Family f = chance(rng, 0.7) ? Family::V4 : Family::V6;
  Prefix p = random_host(rng, f, shape);
  static const std::vector<int> v4 = {32, 32, 24, 24, 16, 28, 20};
  static const std::vector<int> v6 = {128, 128, 64, 64, 48, 56, 120};
  p.length = static_cast<std::uint8_t>(pick(rng, f == Family::V4 ? v4 : v6));
  return config::masked(p);
}

config::Endpoint random_endpoint(std::mt19937_64& rng, const RulesetShape& shape) {
  config::Endpoint ep;
  if (chance(rng, shape.any_address)) return ep;
  ep.any = false;
  int n = chance(rng, 0.8) ? 1 : uniform(rng, 2, 4);
  for (int i = 0; i < n; ++i) ep.prefixes.push_back(random_prefix(rng, shape));
  return ep;
}

config::PortRange random_port_range(std::mt19937_64& rng) {
  static const std::vector<config::PortRange> common = {
      {22, 22},      {53, 53},     {80, 80},     {443, 443}, {8080, 8080}, {1000, 2000},
      {1024, 65535}, {8000, 8100}, {6000, 6063}, {1, 1023},  {3000, 3000}, {5353, 5353}};
  if (chance(rng, 0.7)) return pick(rng, common);
  auto a = static_cast<std::uint16_t>(uniform(rng, 1, 65535));
  if (chance(rng, 0.5)) return {a, a};
  auto b = static_cast<std::uint16_t>(std::min(65535, a + uniform(rng, 1, 5000)));
  return {a, b};
}

// Protocol, ports or ICMP type, action and mode of a rule.
void random_match(std::mt19937_64& rng, config::Rule& r, double audit) {
  static const std::vector<config::Protocol> protos = {
      config::Protocol::Any, config::Protocol::Tcp,  config::Protocol::Tcp,
      config::Protocol::Udp, config::Protocol::Icmp, config::Protocol::Icmpv6};
  r.proto = pick(rng, protos);
  if ((r.proto == config::Protocol::Tcp || r.proto == config::Protocol::Udp) && chance(rng, 0.8)) {
    // Now and then a long list of service ports, as operators write them:
    // more items than a group carries inline.
    int n = chance(rng, 0.03) ? uniform(rng, 12, 24) : chance(rng, 0.8) ? 1 : uniform(rng, 2, 3);
    for (int k = 0; k < n; ++k) r.ports.push_back(random_port_range(rng));
  }
  if ((r.proto == config::Protocol::Icmp || r.proto == config::Protocol::Icmpv6) &&
      chance(rng, 0.5))
    r.icmp_type =
        static_cast<std::uint8_t>(pick(rng, std::vector<int>{0, 3, 8, 11, 128, 129, 135, 1}));
  r.action = static_cast<config::Action>(uniform(rng, 0, 2));
  r.audit = chance(rng, audit);
}

// Interfaces the config manages, for rules to name.
void add_interfaces(config::Config& cfg, const std::vector<std::string>& names) {
  for (const auto& n : names) {
    config::Interface itf;
    itf.name = n;
    cfg.interfaces.push_back(itf);
  }
}

// in_interface / out_interface, where the chain has such an interface.
void random_interfaces(std::mt19937_64& rng, config::Rule& r, const std::vector<std::string>& names,
                       double p) {
  if (names.empty()) return;
  auto some = [&] {
    std::vector<std::string> out{pick(rng, names)};
    if (chance(rng, 0.3)) {
      auto other = pick(rng, names);
      if (other != out[0]) out.push_back(other);
    }
    return out;
  };
  if (r.chain != config::Chain::Output && chance(rng, p)) r.in_interfaces = some();
  if (r.chain != config::Chain::Input && chance(rng, p)) r.out_interfaces = some();
}

// A random address of family f, anywhere.
Prefix random_address(std::mt19937_64& rng, Family f) {
  Prefix p;
  p.family = f;
  p.length = static_cast<std::uint8_t>(p.max_length());
  for (int i = 0; i < p.max_length() / 8; ++i)
    p.addr[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(rng());
  return p;
}

Prefix truncated(Prefix p, int length) {
  p.length = static_cast<std::uint8_t>(length);
  return config::masked(p);
}

// p with bit `bit` (0: the first) flipped.
Prefix flipped(Prefix p, int bit) {
  p.addr[static_cast<std::size_t>(bit / 8)] ^= static_cast<std::uint8_t>(0x80 >> (bit % 8));
  return p;
}

// Chains of nested prefixes around random addresses, with siblings.
std::vector<Prefix> nested_pool(std::mt19937_64& rng, const NestedShape& shape) {
  std::vector<Prefix> pool;
  for (Family f : {Family::V4, Family::V6}) {
    int chains = (f == Family::V4 ? shape.v4_chains : shape.v6_chains) +
                 static_cast<int>(shape.rules / shape.rules_per_chain);
    for (int c = 0; c < chains; ++c) {
      Prefix host = random_address(rng, f);
      int max = host.max_length();
      // The first chain of a family holds every length: the full depth.
      double kept = c == 0 ? 1.0 : shape.level_kept;
      int top = c == 0 ? 0 : uniform(rng, 0, max / 4);
      for (int len = top; len <= max; ++len) {
        if (!chance(rng, kept)) continue;
        pool.push_back(truncated(host, len));
        if (len == 0 || !chance(rng, shape.sibling)) continue;
        // A sibling: the other half of the prefix around this one, and a
        // short chain below it.
        Prefix sibling = flipped(host, len - 1);
        int below = uniform(rng, 0, 4);
        for (int k = 0; k <= below && len + k * 3 <= max; ++k)
          pool.push_back(truncated(sibling, len + k * 3));
      }
    }
  }
  return pool;
}

config::Endpoint nested_endpoint(std::mt19937_64& rng, const NestedShape& shape,
                                 const std::vector<Prefix>& pool) {
  config::Endpoint ep;
  if (chance(rng, shape.any_address)) return ep;
  ep.any = false;
  int n = chance(rng, shape.list) ? uniform(rng, 2, 5) : 1;
  for (int i = 0; i < n; ++i) ep.prefixes.push_back(pick(rng, pool));
  return ep;
}

}  // namespace

config::Config random_nested_ruleset(std::mt19937_64& rng, const NestedShape& shape) {
  config::Config cfg;
  for (auto& d : cfg.chain_defaults)
    d = chance(rng, 0.5) ? config::Action::Drop : config::Action::Accept;
  for (auto& a : cfg.chain_audit) a = chance(rng, shape.audit);
  auto pool = nested_pool(rng, shape);
  for (std::size_t i = 0; i < shape.rules; ++i) {
    config::Rule r;
    if (i > 0 && chance(rng, shape.shadow)) {
      // The same match as an earlier rule, another verdict: never decides.
      r = cfg.rules[std::uniform_int_distribution<std::size_t>(0, i - 1)(rng)];
      r.action = static_cast<config::Action>((static_cast<int>(r.action) + 1) % 3);
    } else {
      r.chain = static_cast<config::Chain>(uniform(rng, 0, 2));
      r.from = nested_endpoint(rng, shape, pool);
      r.to = nested_endpoint(rng, shape, pool);
      random_match(rng, r, shape.audit);
      random_interfaces(rng, r, shape.interfaces, shape.interface_rules);
    }
    r.name = "n" + std::to_string(i);
    cfg.rules.push_back(std::move(r));
  }
  add_interfaces(cfg, shape.interfaces);
  return cfg;
}

config::Config random_ruleset(std::mt19937_64& rng, const RulesetShape& shape) {
  config::Config cfg;
  for (auto& d : cfg.chain_defaults)
    d = chance(rng, 0.5) ? config::Action::Drop : config::Action::Accept;
  for (auto& a : cfg.chain_audit) a = chance(rng, shape.audit);
  for (std::size_t i = 0; i < shape.rules; ++i) {
    config::Rule r;
    r.name = "r" + std::to_string(i);
    r.chain = static_cast<config::Chain>(uniform(rng, 0, 2));
    r.from = random_endpoint(rng, shape);
    r.to = random_endpoint(rng, shape);
    random_match(rng, r, shape.audit);
    random_interfaces(rng, r, shape.interfaces, shape.interface_rules);
    cfg.rules.push_back(std::move(r));
  }
  add_interfaces(cfg, shape.interfaces);
  return cfg;
}

std::vector<config::Prefix> random_local_addresses(std::mt19937_64& rng,
                                                   const RulesetShape& shape) {
  return {random_host(rng, Family::V4, shape), random_host(rng, Family::V4, shape),
          random_host(rng, Family::V6, shape)};
}

namespace {

// An address of family f inside one of the rules' prefixes, or anywhere.
std::array<std::uint8_t, 16> biased_address(std::mt19937_64& rng, const config::Config& cfg,
                                            Family f, bool source) {
  RulesetShape shape;
  Prefix host = random_host(rng, f, shape);
  if (!cfg.rules.empty() && chance(rng, 0.75)) {
    const auto& r =
        cfg.rules[std::uniform_int_distribution<std::size_t>(0, cfg.rules.size() - 1)(rng)];
    const auto& ep = source ? r.from : r.to;
    std::vector<Prefix> same;
    for (const auto& p : ep.prefixes)
      if (p.family == f) same.push_back(p);
    if (!same.empty()) {
      Prefix p = pick(rng, same);
      // Keep p's leading bits, randomise the rest.
      for (int bit = p.length; bit < p.max_length(); ++bit) {
        auto mask = static_cast<std::uint8_t>(0x80 >> (bit % 8));
        if (chance(rng, 0.5))
          p.addr[bit / 8] |= mask;
        else
          p.addr[bit / 8] &= static_cast<std::uint8_t>(~mask);
      }
      return p.addr;
    }
  }
  return host.addr;
}

}  // namespace

policy::PacketHeaders random_packet(std::mt19937_64& rng, const config::Config& cfg,
                                    config::Chain chain, const std::vector<Prefix>& local) {
  policy::PacketHeaders pkt;
  pkt.family = chance(rng, 0.65) ? Family::V4 : Family::V6;
  std::vector<Prefix> mine;
  for (const auto& l : local)
    if (l.family == pkt.family) mine.push_back(l);

  pkt.src = biased_address(rng, cfg, pkt.family, true);
  pkt.dst = biased_address(rng, cfg, pkt.family, false);
  auto is_local = [&](const std::array<std::uint8_t, 16>& a) {
    return std::any_of(mine.begin(), mine.end(), [&](const Prefix& p) { return p.addr == a; });
  };
  if (chain == config::Chain::Input) pkt.dst = pick(rng, mine).addr;
  if (chain == config::Chain::Output) pkt.src = pick(rng, mine).addr;
  // A forward packet must not be addressed to this host; nudge it off.
  while (chain != config::Chain::Input && is_local(pkt.dst))
    pkt.dst[pkt.family == Family::V4 ? 3 : 15]++;
  while (chain == config::Chain::Output && pkt.src == pkt.dst)
    pkt.dst[pkt.family == Family::V4 ? 3 : 15]++;

  if (!cfg.interfaces.empty()) {
    if (chain != config::Chain::Output) pkt.in_interface = pick(rng, cfg.interfaces).name;
    if (chain != config::Chain::Input) pkt.out_interface = pick(rng, cfg.interfaces).name;
  }

  int kind = uniform(rng, 0, 9);
  if (kind < 5) {
    pkt.proto = 6;
  } else if (kind < 8) {
    pkt.proto = 17;
  } else {
    pkt.proto = pkt.family == Family::V4 ? 1 : 58;
  }
  if (pkt.proto == 6 || pkt.proto == 17) {
    std::vector<std::uint16_t> ports;
    for (const auto& r : cfg.rules)
      for (const auto& pr : r.ports) ports.push_back(chance(rng, 0.5) ? pr.first : pr.last);
    if (!ports.empty() && chance(rng, 0.7))
      pkt.dport = pick(rng, ports);
    else
      pkt.dport = static_cast<std::uint16_t>(uniform(rng, 1, 65535));
  } else {
    // Echo requests (which open flows) or other informational types; never
    // errors, which the datapath first matches against conntrack.
    static const std::vector<int> v4 = {8, 8, 0, 13, 42};
    static const std::vector<int> v6 = {128, 128, 129, 130, 143};
    pkt.icmp_type = static_cast<std::uint8_t>(pick(rng, pkt.family == Family::V4 ? v4 : v6));
  }
  return pkt;
}

}  // namespace sluice::testkit
