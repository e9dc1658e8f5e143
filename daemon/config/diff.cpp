#include "config/diff.h"

#include <map>
#include <set>

#include "config/describe.h"
#include "config/selector.h"

namespace sluice::config {

const char* to_string(Change::Kind k) {
  switch (k) {
    case Change::Kind::Added:
      return "added";
    case Change::Kind::Removed:
      return "removed";
    case Change::Kind::Changed:
      return "changed";
    case Change::Kind::Moved:
      return "moved";
  }
  return "?";
}

namespace {

// The position of each rule within its chain: that is what order means.
std::map<std::string, int> positions(const Config& c) {
  std::map<std::string, int> pos;
  int count[kChainCount] = {};
  for (const auto& r : c.rules) pos[r.name] = count[static_cast<int>(r.chain)]++;
  return pos;
}

void diff_chains(const Config& from, const Config& to, std::vector<Change>& out) {
  for (int c = 0; c < kChainCount; ++c) {
    if (from.chain_defaults[c] != to.chain_defaults[c])
      out.push_back({Change::Kind::Changed,
                     std::string("chain ") + to_string(static_cast<Chain>(c)),
                     std::string("default ") + to_string(from.chain_defaults[c]) + " -> " +
                         to_string(to.chain_defaults[c])});
  }
}

// Rules by name: removed, added (with their position), changed, moved.
void diff_rules(const Config& from, const Config& to, std::vector<Change>& out) {
  std::map<std::string, const Rule*> old_rules, new_rules;
  for (const auto& r : from.rules) old_rules[r.name] = &r;
  for (const auto& r : to.rules) new_rules[r.name] = &r;
  auto old_pos = positions(from), new_pos = positions(to);

  for (const auto& r : from.rules)
    if (!new_rules.count(r.name))
      out.push_back({Change::Kind::Removed, "rule '" + r.name + "'", describe_rule(r)});
  for (const auto& r : to.rules) {
    auto it = old_rules.find(r.name);
    if (it == old_rules.end()) {
      out.push_back({Change::Kind::Added, "rule '" + r.name + "'",
                     describe_rule(r) + " (position " + std::to_string(new_pos[r.name] + 1) + ")"});
      continue;
    }
    std::string before = describe_rule(*it->second), after = describe_rule(r);
    if (before != after)
      out.push_back({Change::Kind::Changed, "rule '" + r.name + "'", before + " -> " + after});
    else if (old_pos[r.name] != new_pos[r.name])
      out.push_back({Change::Kind::Moved, "rule '" + r.name + "'",
                     "position " + std::to_string(old_pos[r.name] + 1) + " -> " +
                         std::to_string(new_pos[r.name] + 1)});
  }
}

void diff_interfaces(const Config& from, const Config& to, std::vector<Change>& out) {
  std::map<std::string, std::string> old_itf, new_itf;
  for (const auto& i : from.interfaces) old_itf[i.name] = i.zone;
  for (const auto& i : to.interfaces) new_itf[i.name] = i.zone;
  for (const auto& [name, zone] : old_itf)
    if (!new_itf.count(name))
      out.push_back({Change::Kind::Removed, "interface " + name, "zone " + zone});
  for (const auto& [name, zone] : new_itf) {
    auto it = old_itf.find(name);
    if (it == old_itf.end())
      out.push_back({Change::Kind::Added, "interface " + name, "zone " + zone});
    else if (it->second != zone)
      out.push_back(
          {Change::Kind::Changed, "interface " + name, "zone " + it->second + " -> " + zone});
  }
}

void diff_unnamed(const Config& from, const Config& to, std::vector<Change>& out) {
  // Addresses and NAT entries have no names: they are what they say.
  auto by_description = [&](const std::vector<std::string>& before,
                            const std::vector<std::string>& after, const std::string& what) {
    std::set<std::string> b(before.begin(), before.end()), a(after.begin(), after.end());
    for (const auto& d : b)
      if (!a.count(d)) out.push_back({Change::Kind::Removed, what, d});
    for (const auto& d : a)
      if (!b.count(d)) out.push_back({Change::Kind::Added, what, d});
  };
  auto addresses = [](const Config& c) {
    std::vector<std::string> v;
    for (const auto& i : c.interfaces)
      for (const auto& a : i.addresses) v.push_back(a.to_string() + " on " + i.name);
    return v;
  };
  auto nats = [](const Config& c) {
    std::vector<std::string> v;
    for (const auto& m : c.masquerades) v.push_back(describe_nat(m));
    for (const auto& f : c.port_forwards) v.push_back(describe_nat(f));
    return v;
  };
  auto endpoint_labels = [](const Config& c) {
    std::vector<std::string> v;
    for (const auto& e : c.endpoint_labels)
      v.push_back("containers named " + e.match.container +
                  (e.network.empty() ? "" : " of network " + e.network) + ": " +
                  to_string(e.labels));
    return v;
  };
  by_description(addresses(from), addresses(to), "address");
  by_description(endpoint_labels(from), endpoint_labels(to), "endpoint labels");
  by_description(nats(from), nats(to), "nat");
}

void diff_settings(const Config& from, const Config& to, std::vector<Change>& out) {
  // Settings outside the rules, one line each when they change.
  auto flows = [](const FlowLog& f) {
    return std::string("events ") + (f.events == FlowEvents::All ? "all" : "denied") + ", memory " +
           std::to_string(f.memory) + ", history " + (f.history ? "on" : "off") + ", max age " +
           std::to_string(f.history_max_age_seconds) + " s, max " +
           std::to_string(f.history_max_mb) + " MiB";
  };
  auto pools = [](const Containers& c) {
    std::string s;
    for (const auto& p : {c.ipv4, c.ipv6})
      if (p) s += (s.empty() ? "" : ", ") + p->to_string();
    return s.empty() ? std::string("none") : s;
  };
  if (pools(from.containers) != pools(to.containers))
    out.push_back({Change::Kind::Changed, "containers",
                   pools(from.containers) + " -> " + pools(to.containers)});
  if (flows(from.flows) != flows(to.flows))
    out.push_back({Change::Kind::Changed, "flows", flows(from.flows) + " -> " + flows(to.flows)});
  auto conntrack = [](const ConntrackSettings& c) {
    auto size = [](std::size_t n) { return n ? std::to_string(n) : std::string("auto"); };
    return "TCP " + size(c.entries) + ", other " + size(c.other_entries);
  };
  if (!(from.conntrack == to.conntrack))
    out.push_back({Change::Kind::Changed, "conntrack",
                   conntrack(from.conntrack) + " -> " + conntrack(to.conntrack) +
                       " (read at start: applies when sluiced starts with an empty table)"});
  auto kubernetes = [](const KubernetesSettings& k) {
    if (!k.enabled) return std::string("off");
    return "on, " + (k.kubeconfig.empty() ? std::string("service account") : k.kubeconfig) +
           (k.node_name.empty() ? "" : ", node " + k.node_name) +
           (k.tunnel == Tunnel::Vxlan ? ", vxlan" : "");
  };
  if (!(from.kubernetes == to.kubernetes))
    out.push_back({Change::Kind::Changed, "kubernetes",
                   kubernetes(from.kubernetes) + " -> " + kubernetes(to.kubernetes) +
                       " (read at start: applies when sluiced restarts)"});
  if (!(from.proxy == to.proxy))
    out.push_back({Change::Kind::Changed, "proxy",
                   describe_proxy(from.proxy) + " -> " + describe_proxy(to.proxy)});
  auto api = [](const Config& c) {
    return "listen " + (c.api_listen.empty() ? std::string("off") : c.api_listen) +
           (c.api_tls_cert.empty() ? "" : ", TLS " + c.api_tls_cert);
  };
  if (api(from) != api(to))
    out.push_back({Change::Kind::Changed, "api",
                   api(from) + " -> " + api(to) + " (takes effect at restart)"});
}

}  // namespace

std::vector<Change> diff(const Config& from, const Config& to) {
  std::vector<Change> out;
  diff_chains(from, to, out);
  diff_rules(from, to, out);
  diff_interfaces(from, to, out);
  diff_unnamed(from, to, out);
  diff_settings(from, to, out);
  return out;
}

}  // namespace sluice::config
