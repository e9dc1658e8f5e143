#include "k8s/node_routes.h"

#include <algorithm>

namespace sluice::k8s {

namespace {

const config::Prefix* first_of(const std::vector<config::Prefix>& list, config::Family f) {
  auto it = std::find_if(list.begin(), list.end(), [&](const auto& p) { return p.family == f; });
  return it == list.end() ? nullptr : &*it;
}

// A node's tunnel address: the first address of its IPv4 podCIDR (pods
// get addresses from the second on).
config::Prefix tunnel_address(const config::Prefix& pod_cidr) {
  auto a = config::masked(pod_cidr);
  a.length = 32;
  return a;
}

void direct(const Node& n, NodeNetwork& out) {
  for (const auto& cidr : n.pod_cidrs) {
    const auto* via = first_of(n.internal_addrs, cidr.family);
    if (!via) {
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

void tunnelled(const Node& n, NodeNetwork& out) {
  const auto* cidr = first_of(n.pod_cidrs, config::Family::V4);
  const auto* underlay = first_of(n.internal_addrs, config::Family::V4);
  if (!cidr || !underlay) {
    out.problems.push_back("node " + n.name +
                           ": the VXLAN tunnel needs an IPv4 podCIDR and an IPv4 InternalIP: its "
                           "pods are not routed");
    return;
  }
  auto vtep = tunnel_address(*cidr);
  out.vxlan->peers.push_back({*underlay, vtep});
  config::Route r;
  r.to = *cidr;
  r.via = vtep;
  r.dev = config::kVxlanDevice;
  r.onlink = true;
  r.where.file = "kubernetes";
  out.routes.push_back(r);
}

}  // namespace

NodeNetwork node_network(const std::vector<Node>& nodes, const std::string& self,
                         config::Tunnel tunnel) {
  NodeNetwork out;
  auto me = std::find_if(nodes.begin(), nodes.end(), [&](const Node& n) { return n.name == self; });
  if (me == nodes.end()) {
    out.problems.push_back("this node, " + self + ", is not (yet) a Node of the cluster");
  } else {
    for (const auto& cidr : me->pod_cidrs) {
      auto& pool = cidr.family == config::Family::V4 ? out.pool_v4 : out.pool_v6;
      if (!pool) pool = cidr;
    }
  }
  if (tunnel == config::Tunnel::Vxlan) {
    const auto* local =
        me == nodes.end() ? nullptr : first_of(me->internal_addrs, config::Family::V4);
    if (!local || !out.pool_v4) {
      out.problems.push_back("this node has no IPv4 InternalIP and podCIDR: no VXLAN tunnel");
      return out;
    }
    out.vxlan = config::VxlanTunnel{*local, {}};
    config::Interface device;
    device.name = config::kVxlanDevice;
    device.addresses = {tunnel_address(*out.pool_v4)};
    device.where.file = "kubernetes";
    out.interfaces.push_back(device);
  }
  for (const auto& n : nodes) {
    if (n.name == self) continue;
    if (tunnel == config::Tunnel::Vxlan)
      tunnelled(n, out);
    else
      direct(n, out);
  }
  return out;
}

}  // namespace sluice::k8s
