// Published ports (CNI portMappings): read and checked from the network
// configuration, kept as text, clashes refused, and turned into port
// forwards on every interface, to each of the container's addresses.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/parser.h"
#include "policy/identities.h"
#include "policy/nat_tables.h"
#include "service/port_mappings.h"

namespace sluice {
namespace {

using nlohmann::json;

json with_mappings(json mappings) { return {{"runtimeConfig", {{"portMappings", mappings}}}}; }

TEST(PortMappings, ReadAsTheRuntimePassesThem) {
  auto r = service::read_port_mappings(with_mappings(json::array(
      {{{"hostPort", 8080}, {"containerPort", 80}, {"protocol", "tcp"}, {"hostIP", ""}},
       {{"hostPort", 5353}, {"containerPort", 53}, {"protocol", "udp"}, {"hostIP", "192.0.2.1"}},
       {{"hostPort", 8443}, {"containerPort", 443}, {"hostIP", "0.0.0.0"}}})));
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.ports.size(), 3u);
  EXPECT_EQ(r.ports[0].host_port, 8080);
  EXPECT_EQ(r.ports[0].container_port, 80);
  EXPECT_FALSE(r.ports[0].host_ip);
  EXPECT_EQ(r.ports[1].proto, config::Protocol::Udp);
  EXPECT_EQ(r.ports[1].host_ip->to_string(), "192.0.2.1");
  EXPECT_EQ(r.ports[2].proto, config::Protocol::Tcp) << "tcp when not said";
  EXPECT_FALSE(r.ports[2].host_ip) << "0.0.0.0 is every address";
  auto again = service::ports_from_text(service::ports_to_text(r.ports));
  EXPECT_EQ(again, r.ports) << "kept as text and read back the same";
  EXPECT_TRUE(service::read_port_mappings(json::object()).ports.empty());
}

TEST(PortMappings, BadMappingsSayWhatIsWrong) {
  auto error = [](json m) { return service::read_port_mappings(with_mappings(m)).error; };
  EXPECT_EQ(error(json("x")), "runtimeConfig.portMappings must be an array");
  EXPECT_EQ(error(json::array({1})), "runtimeConfig.portMappings[0] must be an object");
  EXPECT_EQ(error(json::array({{{"hostPort", 0}, {"containerPort", 80}}})),
            "runtimeConfig.portMappings[0] needs hostPort and containerPort, each 1-65535");
  EXPECT_EQ(error(json::array({{{"hostPort", 80}, {"containerPort", 70000}}})),
            "runtimeConfig.portMappings[0] needs hostPort and containerPort, each 1-65535");
  EXPECT_EQ(error(json::array({{{"hostPort", 80}, {"containerPort", 80}, {"protocol", "sctp"}}})),
            "runtimeConfig.portMappings[0].protocol: \"sctp\" cannot be published; use tcp or udp");
  EXPECT_EQ(error(json::array({{{"hostPort", 80}, {"containerPort", 80}, {"hostIP", "nope"}}})),
            "runtimeConfig.portMappings[0].hostIP: 'nope' is not an address");
}

config::Config lab_config() {
  auto r = config::parse_string(
      "[[interface]]\nname = \"wan0\"\n[[interface]]\nname = \"lan0\"\n"
      "[[nat]]\nport_forward = { in_interface = \"wan0\", proto = \"tcp\", port = 2222, to = "
      "\"10.1.0.5\", to_port = 22 }\n",
      "t.toml", ".");
  EXPECT_TRUE(r.config);
  return r.config ? *r.config : config::Config{};
}

policy::Workload web(std::vector<policy::PublishedPort> ports, std::string id = "w1") {
  return {"box",
          id,
          "eth0",
          "web-" + id,
          {},
          {*config::parse_prefix("10.89.0.2").prefix, *config::parse_prefix("fd00:89::2").prefix},
          std::move(ports)};
}

TEST(PublishedPorts, ClashesAreRefusedByName) {
  auto cfg = lab_config();
  policy::PublishedPort p8080{config::Protocol::Tcp, 8080, 80, {}};
  auto first = web({p8080});
  EXPECT_EQ(policy::published_port_conflict(cfg, {}, first), "");
  EXPECT_EQ(policy::published_port_conflict(cfg, {first}, first), "") << "its own ADD again";
  EXPECT_EQ(policy::published_port_conflict(cfg, {first}, web({p8080}, "w2")),
            "host port 8080/tcp is published by container web-w1 already");
  policy::PublishedPort udp{config::Protocol::Udp, 8080, 80, {}};
  EXPECT_EQ(policy::published_port_conflict(cfg, {first}, web({udp}, "w2")), "")
      << "another protocol";
  policy::PublishedPort ssh{config::Protocol::Tcp, 2222, 22, {}};
  EXPECT_EQ(policy::published_port_conflict(cfg, {}, web({ssh}, "w2")),
            "host port 2222/tcp is a [[nat]] port_forward of the configuration (line 6)");
  EXPECT_EQ(policy::published_port_conflict(cfg, {}, web({p8080, p8080})),
            "host port 8080/tcp is mapped twice");
  policy::PublishedPort on_a{config::Protocol::Tcp, 9000, 80,
                             config::parse_prefix("192.0.2.1").prefix};
  policy::PublishedPort on_b{config::Protocol::Tcp, 9000, 80,
                             config::parse_prefix("192.0.2.9").prefix};
  EXPECT_EQ(policy::published_port_conflict(cfg, {web({on_a})}, web({on_b}, "w2")), "")
      << "the same port on two host addresses";
}

TEST(PublishedPorts, BecomePortForwardsOnEveryInterface) {
  auto cfg = lab_config();
  policy::PublishedPort p{config::Protocol::Tcp, 8080, 80, {}};
  policy::add_published_ports(cfg, {web({p})});
  ASSERT_EQ(cfg.port_forwards.size(), 1u + 4u) << "2 interfaces x 2 families";
  std::vector<policy::InterfaceState> itfs = {
      {"wan0",
       7,
       {*config::parse_prefix("192.0.2.1/24").prefix,
        *config::parse_prefix("2001:db8::1/64").prefix}},
      {"lan0", 8, {*config::parse_prefix("10.1.0.1/24").prefix}}};
  auto tables = policy::compile_nat(cfg, itfs);
  int to_container = 0;
  for (const auto& [k, v] : tables.port_forwards)
    if (ntohs(k.port) == 8080) {
      ++to_container;
      EXPECT_EQ(ntohs(v.port), 80);
    }
  EXPECT_EQ(to_container, 3) << "192.0.2.1, 2001:db8::1 and 10.1.0.1";

  auto only = lab_config();
  policy::PublishedPort pinned{config::Protocol::Tcp, 8080, 80,
                               config::parse_prefix("192.0.2.1").prefix};
  policy::add_published_ports(only, {web({pinned})});
  int pinned_count = 0;
  for (const auto& [k, v] : policy::compile_nat(only, itfs).port_forwards)
    pinned_count += ntohs(k.port) == 8080;
  EXPECT_EQ(pinned_count, 1) << "hostIP: that address only";
}

}  // namespace
}  // namespace sluice
