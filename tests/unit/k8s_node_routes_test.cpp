// This node's pools and the routes to the other nodes' pods, from the
// Node objects (podCIDRs, InternalIPs).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "k8s/node_routes.h"

namespace {

using namespace sluice;
using nlohmann::json;

k8s::Node node(const char* name, json cidrs, json addresses) {
  json a = json::array();
  for (const auto& ip : addresses) a.push_back({{"type", "InternalIP"}, {"address", ip}});
  return k8s::parse_node({{"metadata", {{"name", name}}},
                          {"spec", {{"podCIDRs", cidrs}}},
                          {"status", {{"addresses", a}}}});
}

TEST(K8sNodeRoutes, OwnPodCidrsArePoolsOthersAreRoutedToTheirInternalIp) {
  std::vector<k8s::Node> nodes = {
      node("n1", {"10.42.1.0/24", "fd00:42:1::/64"}, {"192.0.2.1", "2001:db8::1"}),
      node("n2", {"10.42.2.0/24", "fd00:42:2::/64"}, {"192.0.2.2", "2001:db8::2"}),
      node("n3", {"10.42.3.0/24", "fd00:42:3::/64"}, {"192.0.2.3"})};
  auto n = k8s::node_network(nodes, "n1");
  ASSERT_TRUE(n.pool_v4 && n.pool_v6);
  EXPECT_EQ(n.pool_v4->to_string(), "10.42.1.0/24");
  EXPECT_EQ(n.pool_v6->to_string(), "fd00:42:1::/64");
  std::vector<std::string> routes;
  for (const auto& r : n.routes) routes.push_back(r.to.to_string() + " via " + r.via->to_string());
  EXPECT_EQ(routes, (std::vector<std::string>{"10.42.2.0/24 via 192.0.2.2",
                                              "fd00:42:2::/64 via 2001:db8::2",
                                              "10.42.3.0/24 via 192.0.2.3"}));
  ASSERT_EQ(n.problems.size(), 1u);
  EXPECT_EQ(n.problems[0],
            "node n3: no InternalIP of the family of its podCIDR fd00:42:3::/64: its pods are not "
            "routed");
}

TEST(K8sNodeRoutes, ANodeNotInTheClusterHasNoPoolButRoutesTheOthers) {
  auto n = k8s::node_network({node("n2", {"10.42.2.0/24"}, {"192.0.2.2"})}, "n9");
  EXPECT_FALSE(n.pool_v4);
  EXPECT_EQ(n.routes.size(), 1u);
  ASSERT_EQ(n.problems.size(), 1u);
  EXPECT_EQ(n.problems[0], "this node, n9, is not (yet) a Node of the cluster");
}

TEST(K8sNodeRoutes, TheVxlanTunnelCarriesTheOtherNodesPodsToTheirInternalIp) {
  std::vector<k8s::Node> nodes = {node("n1", {"10.42.1.0/24"}, {"198.51.100.1"}),
                                  node("n2", {"10.42.2.0/24"}, {"203.0.113.2"}),
                                  node("n3", {"fd00:42:3::/64"}, {"2001:db8::3"})};
  auto n = k8s::node_network(nodes, "n1", config::Tunnel::Vxlan);
  ASSERT_TRUE(n.vxlan);
  EXPECT_EQ(n.vxlan->local.to_string(), "198.51.100.1");
  ASSERT_EQ(n.vxlan->peers.size(), 1u);
  EXPECT_EQ(n.vxlan->peers[0].underlay.to_string(), "203.0.113.2");
  EXPECT_EQ(n.vxlan->peers[0].vtep.to_string(), "10.42.2.0");
  ASSERT_EQ(n.routes.size(), 1u);
  EXPECT_EQ(n.routes[0].to.to_string(), "10.42.2.0/24");
  EXPECT_EQ(n.routes[0].via->to_string(), "10.42.2.0");
  EXPECT_EQ(n.routes[0].dev, config::kVxlanDevice);
  EXPECT_TRUE(n.routes[0].onlink);
  ASSERT_EQ(n.interfaces.size(), 1u);  // the device, sluice's, with its tunnel address
  EXPECT_EQ(n.interfaces[0].name, config::kVxlanDevice);
  ASSERT_EQ(n.interfaces[0].addresses.size(), 1u);
  EXPECT_EQ(n.interfaces[0].addresses[0].to_string(), "10.42.1.0");
  ASSERT_EQ(n.problems.size(), 1u);
  EXPECT_EQ(n.problems[0],
            "node n3: the VXLAN tunnel needs an IPv4 podCIDR and an IPv4 InternalIP: its pods are "
            "not routed");
  auto alone = k8s::node_network({node("n2", {"10.42.2.0/24"}, {"203.0.113.2"})}, "n1",
                                 config::Tunnel::Vxlan);
  EXPECT_FALSE(alone.vxlan);  // this node unknown: no tunnel, nothing routed into one
  EXPECT_TRUE(alone.routes.empty());
}

}  // namespace
