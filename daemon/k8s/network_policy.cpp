#include "k8s/network_policy.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "k8s/policy_sets.h"

namespace sluice::k8s {

namespace {

// What one rule of one policy allows a group: the peers (sources for
// ingress, destinations for egress) and the ports.
struct Allow {
  Addresses peer;
  Ports ports;
  const NetworkPolicy* policy = nullptr;
};

// Pods policy cannot tell apart (same namespace, labels and named ports):
// one set of rules serves them all.
struct Group {
  std::string name_space;
  Labels labels;
  std::vector<NamedPort> ports;
  Addresses addrs;
  std::vector<std::string> pods;
  std::vector<const NetworkPolicy*> ingress_by, egress_by;  // isolated by
  std::vector<Allow> ingress, egress;
};

using GroupKey = std::tuple<std::string, Labels, std::vector<NamedPort>>;

class Translation {
 public:
  explicit Translation(const Cluster& cluster);
  std::vector<config::Rule> rules();

 private:
  const Labels& namespace_labels(const std::string& name);
  std::vector<Group*> select(const PolicyPeer& peer, const NetworkPolicy& policy);
  void isolate(const NetworkPolicy& policy);
  void add_ingress(Group& to, const NetworkPolicy& policy, const PolicyRule& rule);
  void add_egress(Group& from, const NetworkPolicy& policy, const PolicyRule& rule);
  void emit(const std::string& name, const Addresses& from, const Addresses& to, const Ports& ports,
            config::Action action);

  std::map<std::string, Labels> namespaces_;
  std::map<GroupKey, Group> groups_;
  std::vector<NetworkPolicy> policies_;
  std::vector<config::Rule> out_;
};

Translation::Translation(const Cluster& cluster) : policies_(cluster.policies) {
  for (const auto& ns : cluster.namespaces) namespaces_[ns.name] = ns.labels;
  for (const auto& pod : cluster.pods) {
    // A host-network pod has the node's addresses; a finished one may
    // have given its address to a new pod.
    if (pod.host_network || pod.finished || pod.addresses.empty()) continue;
    auto ports = pod.ports;
    std::sort(ports.begin(), ports.end());
    auto& g = groups_[{pod.name_space, pod.labels, ports}];
    g.name_space = pod.name_space;
    g.labels = pod.labels;
    g.ports = std::move(ports);
    g.pods.push_back(pod.name);
    add(g.addrs, Addresses{false, pod.addresses});
  }
  for (auto& [key, g] : groups_) std::sort(g.pods.begin(), g.pods.end());
  std::sort(policies_.begin(), policies_.end(),
            [](const auto& a, const auto& b) { return a.full_name() < b.full_name(); });
}

const Labels& Translation::namespace_labels(const std::string& name) {
  auto it = namespaces_.find(name);
  if (it == namespaces_.end())  // not seen (yet): only the label the API server gives each
    it = namespaces_.emplace(name, Labels{{"kubernetes.io/metadata.name", name}}).first;
  return it->second;
}

std::vector<Group*> Translation::select(const PolicyPeer& peer, const NetworkPolicy& policy) {
  std::vector<Group*> out;
  for (auto& [key, g] : groups_) {
    bool ns = peer.namespaces ? peer.namespaces->matches(namespace_labels(g.name_space))
                              : g.name_space == policy.name_space;
    if (ns && (!peer.pods || peer.pods->matches(g.labels))) out.push_back(&g);
  }
  return out;
}

// Ports given by number or protocol alone (every port of it).
Ports numeric_ports(const std::vector<PolicyPort>& ports) {
  Ports out;
  for (const auto& p : ports) {
    if (!p.named.empty()) continue;
    if (!p.port)
      out.push_back({p.proto, {}});
    else
      out.push_back({p.proto, {{*p.port, p.end_port.value_or(*p.port)}}});
  }
  return out;
}

// Named ports as the pods of g have them (the protocol must match too).
Ports named_ports(const std::vector<PolicyPort>& ports, const Group& g) {
  Ports out;
  for (const auto& p : ports) {
    if (p.named.empty()) continue;
    for (const auto& np : g.ports)
      if (np.name == p.named && np.proto == p.proto) out.push_back({p.proto, {{np.port, np.port}}});
  }
  return out;
}

bool has_named(const std::vector<PolicyPort>& ports) {
  return std::any_of(ports.begin(), ports.end(), [](const auto& p) { return !p.named.empty(); });
}

void Translation::add_ingress(Group& to, const NetworkPolicy& policy, const PolicyRule& rule) {
  Addresses from{rule.peers.empty(), {}};
  for (const auto& peer : rule.peers) {
    if (peer.block)
      add(from, Addresses{false, subtract(peer.block->cidr, peer.block->except)});
    else
      for (const auto* g : select(peer, policy)) add(from, g->addrs);
  }
  Ports ports = rule.ports.empty() ? all_ports() : numeric_ports(rule.ports);
  auto named = named_ports(rule.ports, to);  // a named port is the receiver's
  ports.insert(ports.end(), named.begin(), named.end());
  if (!from.empty() && !ports.empty()) to.ingress.push_back({from, ports, &policy});
}

void Translation::add_egress(Group& from, const NetworkPolicy& policy, const PolicyRule& rule) {
  Addresses to{rule.peers.empty(), {}};
  std::vector<Group*> to_groups;
  if (rule.peers.empty())
    for (auto& [key, g] : groups_) to_groups.push_back(&g);
  for (const auto& peer : rule.peers) {
    if (peer.block) {
      add(to, Addresses{false, subtract(peer.block->cidr, peer.block->except)});
      continue;
    }
    for (auto* g : select(peer, policy)) {
      add(to, g->addrs);
      to_groups.push_back(g);
    }
  }
  Ports numeric = rule.ports.empty() ? all_ports() : numeric_ports(rule.ports);
  if (!to.empty() && !numeric.empty()) from.egress.push_back({to, numeric, &policy});
  if (!has_named(rule.ports)) return;
  // A named port is the receiver's: only pods have them, each its own.
  for (const auto* g : to_groups)
    if (auto named = named_ports(rule.ports, *g); !named.empty())
      from.egress.push_back({g->addrs, named, &policy});
}

void Translation::isolate(const NetworkPolicy& policy) {
  for (auto& [key, g] : groups_) {
    if (g.name_space != policy.name_space || !policy.pods.matches(g.labels)) continue;
    if (policy.ingress) {
      g.ingress_by.push_back(&policy);
      for (const auto& r : policy.ingress_rules) add_ingress(g, policy, r);
    }
    if (policy.egress) {
      g.egress_by.push_back(&policy);
      for (const auto& r : policy.egress_rules) add_egress(g, policy, r);
    }
  }
}

config::Endpoint endpoint(const Addresses& a) {
  config::Endpoint e;
  e.any = a.any;
  if (!a.any) e.prefixes = a.prefixes;
  return e;
}

void Translation::emit(const std::string& name, const Addresses& from, const Addresses& to,
                       const Ports& ports, config::Action action) {
  for (const auto& piece : ports) {
    config::Rule r;
    r.name = name;
    r.chain = config::Chain::Forward;
    r.from = endpoint(from);
    r.to = endpoint(to);
    r.proto = piece.proto;
    r.ports = piece.ranges;
    r.action = action;
    r.where.file = "kubernetes";
    out_.push_back(std::move(r));
  }
}

std::string policy_names(const std::vector<const NetworkPolicy*>& policies) {
  std::string out;
  for (std::size_t i = 0; i < policies.size() && i < 3; ++i)
    out += (i ? ", " : "") + policies[i]->full_name();
  if (policies.size() > 3) out += " and " + std::to_string(policies.size() - 3) + " more";
  return out;
}

std::string group_name(const Group& g) {
  auto out = g.name_space + "/" + g.pods.front();
  if (g.pods.size() > 1) out += " and " + std::to_string(g.pods.size() - 1) + " more";
  return out;
}

std::vector<config::Rule> Translation::rules() {
  for (const auto& p : policies_) isolate(p);
  std::vector<Group*> senders, receivers;  // isolated for egress, for ingress
  Addresses pods;
  for (auto& [key, g] : groups_) {
    if (!g.egress_by.empty()) senders.push_back(&g);
    if (!g.ingress_by.empty()) receivers.push_back(&g);
    add(pods, g.addrs);
  }
  const std::string prefix = kRulePrefix;
  const Addresses any{true, {}};
  for (const auto* s : senders)
    for (const auto* d : receivers) {
      for (const auto& e : s->egress) {
        auto to = intersect(d->addrs, e.peer);
        if (to.empty()) continue;
        for (const auto& i : d->ingress) {
          auto from = intersect(s->addrs, i.peer);
          if (from.empty()) continue;
          emit(prefix + " " + e.policy->full_name() + " (egress) + " + i.policy->full_name() +
                   " (ingress)",
               from, to, intersect(e.ports, i.ports), config::Action::Accept);
        }
      }
      emit(prefix + " isolation: " + group_name(*s) + " egress by " + policy_names(s->egress_by) +
               ", " + group_name(*d) + " ingress by " + policy_names(d->ingress_by),
           s->addrs, d->addrs, all_ports(), config::Action::Drop);
    }
  for (const auto* s : senders) {
    for (const auto& e : s->egress)
      emit(prefix + " " + e.policy->full_name() + " (egress)", s->addrs, e.peer, e.ports,
           config::Action::Accept);
    emit(prefix + " isolation: " + group_name(*s) + " egress by " + policy_names(s->egress_by),
         s->addrs, any, all_ports(), config::Action::Drop);
  }
  for (const auto* d : receivers) {
    for (const auto& i : d->ingress)
      emit(prefix + " " + i.policy->full_name() + " (ingress)", i.peer, d->addrs, i.ports,
           config::Action::Accept);
    emit(prefix + " isolation: " + group_name(*d) + " ingress by " + policy_names(d->ingress_by),
         any, d->addrs, all_ports(), config::Action::Drop);
  }
  if (!pods.empty()) {
    emit(prefix + ": not isolated", pods, any, all_ports(), config::Action::Accept);
    emit(prefix + ": not isolated", any, pods, all_ports(), config::Action::Accept);
  }
  return std::move(out_);
}

}  // namespace

std::vector<config::Rule> network_policy_rules(const Cluster& cluster) {
  return Translation(cluster).rules();
}

}  // namespace sluice::k8s
