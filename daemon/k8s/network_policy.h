// NetworkPolicy v1 as first-match forward rules (docs/kubernetes.md,
// "NetworkPolicy"). A pod selected by some policy with Ingress in its
// types is isolated for ingress: only what one of those policies' ingress
// rules allows reaches it; the same for egress. Traffic between two pods
// needs both the sender's egress and the receiver's ingress to allow it.
// The rules only decide traffic that involves a pod; the node's own
// traffic to and from its pods (input and output chains) is not touched.
#pragma once

#include <string>
#include <vector>

#include "config/model.h"
#include "k8s/objects.h"

namespace sluice::k8s {

struct Cluster {
  std::vector<Namespace> namespaces;
  std::vector<Pod> pods;
  std::vector<NetworkPolicy> policies;
};

// Prefix of the names of the rules made here (flows show them).
inline constexpr const char* kRulePrefix = "networkpolicy";

// The forward-chain rules, in order: pairs of an egress-isolated and an
// ingress-isolated pod group (both must allow), then egress-isolated
// senders, then ingress-isolated receivers, then every other pod's
// traffic accepted (a pod no policy isolates is open).
std::vector<config::Rule> network_policy_rules(const Cluster& cluster);

}  // namespace sluice::k8s
