// Sets of addresses and of protocol/ports as NetworkPolicy combines them:
// a pod's traffic is allowed by the intersection of what its egress and
// the peer's ingress allow (network_policy.cpp).
#pragma once

#include <vector>

#include "config/model.h"

namespace sluice::k8s {

// Any address, or the union of prefixes (both families may be in it).
struct Addresses {
  bool any = false;
  std::vector<config::Prefix> prefixes;
  bool empty() const { return !any && prefixes.empty(); }
};

Addresses intersect(const Addresses& a, const Addresses& b);
// a with b's prefixes added (any stays any).
void add(Addresses& a, const Addresses& b);

// from without holes: the prefixes covering exactly what is left
// (ipBlock cidr with except).
std::vector<config::Prefix> subtract(const config::Prefix& from,
                                     const std::vector<config::Prefix>& holes);

// A protocol (Any: every protocol, then no ranges) and port ranges (none:
// every port of the protocol).
struct PortPiece {
  config::Protocol proto = config::Protocol::Any;
  std::vector<config::PortRange> ranges;
};
using Ports = std::vector<PortPiece>;  // the union; empty: nothing

inline Ports all_ports() { return {PortPiece{}}; }
Ports intersect(const Ports& a, const Ports& b);

}  // namespace sluice::k8s
