// This node's part of the cluster's network (docs/kubernetes.md,
// "Nodes"): its podCIDRs become the pods' address pools, and each other
// node's podCIDRs are routed to that node: directly to its InternalIP of
// the same family (the nodes share a link; the kernel refuses a route
// whose gateway is not on one, and sluiced logs it), or through the VXLAN
// tunnel to its tunnel address (its IPv4 podCIDR's first address),
// carried to its IPv4 InternalIP.
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
  std::optional<config::VxlanTunnel> vxlan;        // tunnel = "vxlan"
  std::vector<config::Interface> interfaces;       // the tunnel device, with its address
  std::vector<std::string> problems;               // what was left out, and why
};

NodeNetwork node_network(const std::vector<Node>& nodes, const std::string& self,
                         config::Tunnel tunnel = config::Tunnel::None);

}  // namespace sluice::k8s
