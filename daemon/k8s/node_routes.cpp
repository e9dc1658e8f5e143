#include "k8s/node_routes.h"

#include <algorithm>

namespace sluice::k8s {

NodeNetwork node_network(const std::vector<Node>& nodes, const std::string& self) {
  NodeNetwork out;
  auto me = std::find_if(nodes.begin(), nodes.end(), [&](const Node& n) { return n.name == self; });
  if (me == nodes.end())
    out.problems.push_back("this node, " + self + ", is not (yet) a Node of the cluster");
  else
    for (const auto& cidr : me->pod_cidrs) {
      auto& pool = cidr.family == config::Family::V4 ? out.pool_v4 : out.pool_v6;
      if (!pool) pool = cidr;
    }
  for (const auto& n : nodes) {
    if (n.name == self) continue;
    for (const auto& cidr : n.pod_cidrs) {
      auto via = std::find_if(n.internal_addrs.begin(), n.internal_addrs.end(),
                              [&](const config::Prefix& a) { return a.family == cidr.family; });
      if (via == n.internal_addrs.end()) {
        out.problems.push_back("node " + n.name + ": no InternalIP of the family of its podCIDR " +
                               cidr.to_string() + ": its pods are not routed");
        continue;
      }
      config::Route r;
      r.to = cidr;
      r.via = *via;
      r.where.file = "kubernetes";
      out.routes.push_back(r);
    }
  }
  return out;
}

}  // namespace sluice::k8s
