// The parts of Kubernetes objects that policy and routing need, read from
// the API's JSON (core/v1 Pod, Namespace, Node; networking.k8s.io/v1
// NetworkPolicy). Fields sluice does not use are ignored, so newer API
// versions still read; a field sluice uses that has the wrong shape is an
// ObjectError naming it.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/model.h"

namespace sluice::k8s {

using Labels = std::map<std::string, std::string>;

struct ObjectError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// metav1.LabelSelector: every matchLabels pair and every expression must
// hold. An empty selector selects everything.
struct LabelRequirement {
  enum class Operator { In, NotIn, Exists, DoesNotExist };
  std::string key;
  Operator op = Operator::Exists;
  std::vector<std::string> values;
};

struct LabelSelector {
  Labels match_labels;
  std::vector<LabelRequirement> expressions;
  bool matches(const Labels& labels) const;
};

// A container port with a name: what a NetworkPolicy's named port means
// on this pod.
struct NamedPort {
  std::string name;
  config::Protocol proto = config::Protocol::Tcp;
  std::uint16_t port = 0;
  bool operator==(const NamedPort&) const = default;
  auto operator<=>(const NamedPort&) const = default;
};

struct Pod {
  std::string name_space;  // metadata.namespace
  std::string name;
  std::string node;  // spec.nodeName; "" not scheduled yet
  Labels labels;
  std::vector<config::Prefix> addresses;  // status.podIPs as host prefixes
  std::vector<NamedPort> ports;
  bool host_network = false;  // shares the node's addresses: no policy applies
  bool finished = false;      // phase Succeeded or Failed: its address may be reused
};

struct Namespace {
  std::string name;
  Labels labels;  // with kubernetes.io/metadata.name, which the API server sets
};

struct Node {
  std::string name;
  std::vector<config::Prefix> pod_cidrs;       // spec.podCIDRs (or podCIDR)
  std::vector<config::Prefix> internal_addrs;  // status.addresses of type InternalIP
};

// networking.k8s.io/v1 NetworkPolicy.
struct IpBlock {
  config::Prefix cidr;
  std::vector<config::Prefix> except;
};

// One entry of from/to: pods (in the policy's namespace unless a
// namespace selector is given), all pods of selected namespaces, both
// combined, or addresses.
struct PolicyPeer {
  std::optional<LabelSelector> pods;
  std::optional<LabelSelector> namespaces;
  std::optional<IpBlock> block;
};

// One entry of ports: a protocol, and a port number (with endPort a
// range) or a container port's name; neither: every port of the protocol.
struct PolicyPort {
  config::Protocol proto = config::Protocol::Tcp;
  std::optional<std::uint16_t> port;
  std::optional<std::uint16_t> end_port;
  std::string named;
};

// One ingress or egress rule: traffic matching one of peers (none given:
// any peer) on one of ports (none given: any port and protocol).
struct PolicyRule {
  std::vector<PolicyPeer> peers;
  std::vector<PolicyPort> ports;
};

struct NetworkPolicy {
  std::string name_space;
  std::string name;
  LabelSelector pods;   // spec.podSelector: the pods it isolates
  bool ingress = true;  // policyTypes has Ingress
  bool egress = false;  // policyTypes has Egress
  std::vector<PolicyRule> ingress_rules;
  std::vector<PolicyRule> egress_rules;
  // Read with an error: kept so that its pods stay isolated (nothing of it
  // allows anything) rather than opened. docs/kubernetes.md.
  std::string error;

  std::string full_name() const { return name_space + "/" + name; }
};

// Each throws ObjectError (what is wrong, naming the field).
Pod parse_pod(const nlohmann::json& object);
Namespace parse_namespace(const nlohmann::json& object);
Node parse_node(const nlohmann::json& object);
// Never throws for a policy with a namespace and a name: one it cannot
// read comes back with error set, selecting every pod of its namespace.
NetworkPolicy parse_network_policy(const nlohmann::json& object);

}  // namespace sluice::k8s
