// This node's part of the cluster's network (docs/kubernetes.md,
// "Nodes"): its podCIDRs become the pods' address pools, and each other
// node's podCIDRs are routed to that node's InternalIP of the same family
// (direct routing: the nodes share a link; the kernel refuses a route
// whose gateway is not on one, and sluiced logs it).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/model.h"
#include "k8s/objects.h"

namespace sluice::k8s {

struct NodeNetwork {
  std::optional<config::Prefix> pool_v4, pool_v6;  // this node's podCIDRs
  std::vector<config::Route> routes;               // to the other nodes' pods
  std::vector<std::string> problems;               // what was left out, and why
};

NodeNetwork node_network(const std::vector<Node>& nodes, const std::string& self);

}  // namespace sluice::k8s
