// Good configs: what the parser makes of them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/describe.h"
#include "config/parser.h"
#include "policy/reference_evaluator.h"

namespace {

using namespace sluice::config;

const char* kExample = R"(
[api]
listen = "127.0.0.1:9090"

[[interface]]
name = "eth1"
zone = "lan"

[zones.lan]
networks = ["192.168.1.0/24", "fd00:1::/64"]

[sets]
admins = ["192.168.1.10", "192.168.1.11"]
blocklist = { file = "blocklist.txt" }

[chains]
input = "drop"
forward = "drop"
output = "accept"

[prefilter]
drop_from = "set:blocklist"

[[rule]]
name = "ssh-from-admins"
chain = "input"
from = "set:admins"
proto = "tcp"
port = 22
action = "accept"
log = true

[[rule]]
name = "lan-web"
chain = "forward"
from = "zone:lan"
to = ["203.0.113.0/24", "2001:db8::/32"]
proto = "tcp"
port = [80, 443, "8000-8100"]
action = "accept"

[[rule]]
name = "ping"
chain = "input"
proto = "icmp"
icmp_type = 8
action = "reject"
)";

TEST(ConfigParse, ExampleBecomesTheModel) {
  auto r = parse_string(kExample, "example.toml", SLUICE_TEST_DATA_DIR);
  ASSERT_TRUE(r.diagnostics.empty()) << format(r.diagnostics);
  const Config& c = *r.config;

  EXPECT_EQ(c.api_listen, "127.0.0.1:9090");
  ASSERT_EQ(c.interfaces.size(), 1u);
  EXPECT_EQ(c.interfaces[0].name, "eth1");
  EXPECT_EQ(c.interfaces[0].zone, "lan");
  EXPECT_EQ(c.chain_defaults[0], Action::Drop);
  EXPECT_EQ(c.chain_defaults[1], Action::Drop);
  EXPECT_EQ(c.chain_defaults[2], Action::Accept);

  ASSERT_EQ(c.sets.at("blocklist").prefixes.size(), 3u);
  EXPECT_EQ(c.sets.at("blocklist").prefixes[1].to_string(), "198.51.100.7");
  EXPECT_EQ(c.sets.at("blocklist").prefixes[2].to_string(), "2001:db8:bad::/48");
  EXPECT_EQ(c.prefilter.drop_from_set, "blocklist");

  ASSERT_EQ(c.rules.size(), 3u);
  const Rule& ssh = c.rules[0];
  EXPECT_EQ(ssh.name, "ssh-from-admins");
  EXPECT_EQ(ssh.chain, Chain::Input);
  EXPECT_FALSE(ssh.from.any);
  ASSERT_EQ(ssh.from.prefixes.size(), 2u);
  EXPECT_EQ(ssh.from.prefixes[0].to_string(), "192.168.1.10");
  EXPECT_TRUE(ssh.to.any);
  EXPECT_EQ(ssh.proto, Protocol::Tcp);
  ASSERT_EQ(ssh.ports.size(), 1u);
  EXPECT_EQ(ssh.ports[0], (PortRange{22, 22}));
  EXPECT_TRUE(ssh.log);
  EXPECT_EQ(ssh.where.line, 24);  // the [[rule]] header

  const Rule& web = c.rules[1];
  ASSERT_EQ(web.from.prefixes.size(), 2u);
  EXPECT_EQ(web.from.prefixes[1].to_string(), "fd00:1::/64");
  EXPECT_EQ(web.to.prefixes.size(), 2u);
  ASSERT_EQ(web.ports.size(), 3u);
  EXPECT_EQ(web.ports[2], (PortRange{8000, 8100}));

  const Rule& ping = c.rules[2];
  EXPECT_EQ(ping.proto, Protocol::Icmp);
  EXPECT_EQ(ping.icmp_type, 8);
  EXPECT_EQ(ping.action, Action::Reject);
}

const char* kManaged = R"(
[api]
listen = "127.0.0.1:9090"
management = "set:admins"
[sets]
admins = ["192.0.2.10"]
[chains]
input = "drop"
[[rule]]
name = "oops-blocks-admins"
chain = "input"
from = "set:admins"
action = "drop"
)";

sluice::policy::PacketHeaders tcp_to(const char* src, std::uint16_t port) {
  sluice::policy::PacketHeaders h;
  h.src = parse_prefix(src).prefix->addr;
  h.dst = parse_prefix("192.0.2.1").prefix->addr;
  h.proto = 6;
  h.dport = port;
  return h;
}

TEST(ConfigParse, ManagementSourcesAlwaysReachTheManagementPorts) {
  auto r = parse_string(kManaged, "m.toml");
  ASSERT_TRUE(r.config) << format(r.diagnostics);
  const auto& rules = r.config->rules;
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].name, "anti-lockout");
  EXPECT_TRUE(rules[0].implicit);
  EXPECT_EQ(rules[0].ports, (std::vector<PortRange>{{22, 22}, {9090, 9090}}));
  EXPECT_EQ(rules[0].where.line, 4);

  using sluice::policy::evaluate;
  auto ssh = evaluate(*r.config, Chain::Input, tcp_to("192.0.2.10", 22));
  EXPECT_EQ(ssh.rule_index, 0u);
  EXPECT_EQ(ssh.action, Action::Accept);
  EXPECT_EQ(evaluate(*r.config, Chain::Input, tcp_to("192.0.2.10", 9090)).action, Action::Accept);
  EXPECT_EQ(evaluate(*r.config, Chain::Input, tcp_to("192.0.2.10", 80)).rule_index, 1u);
  EXPECT_EQ(evaluate(*r.config, Chain::Input, tcp_to("192.0.2.11", 22)).action, Action::Drop);
}

TEST(ConfigParse, AntiLockoutCanBeTurnedOff) {
  std::string text = kManaged;
  text.replace(text.find("management ="), 0, "anti_lockout = false\n");
  auto r = parse_string(text, "m.toml");
  ASSERT_TRUE(r.config) << format(r.diagnostics);
  ASSERT_EQ(r.config->rules.size(), 1u);
  EXPECT_EQ(r.config->rules[0].name, "oops-blocks-admins");
}

TEST(ConfigParse, ContainerPools) {
  auto r =
      parse_string("[containers]\nipv4 = \"10.89.0.0/24\"\nipv6 = \"fd00:89::/64\"\n", "c.toml");
  ASSERT_TRUE(r.config) << format(r.diagnostics);
  ASSERT_TRUE(r.config->containers.ipv4);
  EXPECT_EQ(r.config->containers.ipv4->to_string(), "10.89.0.0/24");
  ASSERT_TRUE(r.config->containers.ipv6);
  EXPECT_EQ(r.config->containers.ipv6->to_string(), "fd00:89::/64");
  auto masq = parse_string(
      "[[interface]]\nname = \"wan0\"\n\n[containers]\nipv4 = \"10.89.0.0/24\"\n"
      "masquerade = \"wan0\"\n",
      "c.toml");
  ASSERT_TRUE(masq.config) << format(masq.diagnostics);
  ASSERT_EQ(masq.config->masquerades.size(), 1u) << "as a [[nat]] masquerade from the pools";
  EXPECT_EQ(masq.config->masquerades[0].out_interface, "wan0");
  ASSERT_EQ(masq.config->masquerades[0].from.prefixes.size(), 1u);
  EXPECT_EQ(masq.config->masquerades[0].from.prefixes[0].to_string(), "10.89.0.0/24");
  auto none = parse_string("", "c.toml");
  ASSERT_TRUE(none.config);
  EXPECT_FALSE(none.config->containers.ipv4 || none.config->containers.ipv6);
}

TEST(ConfigParse, AuditModePerRuleAndPerChain) {
  auto r = parse_string(R"(
[chains]
input = { default = "drop", mode = "audit" }
forward = "drop"
[[rule]]
name = "would-block-web"
chain = "forward"
proto = "tcp"
port = 80
action = "reject"
mode = "audit"
)",
                        "a.toml");
  ASSERT_TRUE(r.config) << format(r.diagnostics);
  const Config& c = *r.config;
  EXPECT_EQ(c.chain_defaults[0], Action::Drop);
  EXPECT_TRUE(c.chain_audit[0]);
  EXPECT_FALSE(c.chain_audit[1]);
  EXPECT_TRUE(c.rules[0].audit);

  using sluice::policy::evaluate;
  auto web = evaluate(c, Chain::Forward, tcp_to("192.0.2.10", 80));
  EXPECT_EQ(web.action, Action::Reject);
  EXPECT_TRUE(web.audit);
  EXPECT_EQ(web.effective(), Action::Accept);
  auto other = evaluate(c, Chain::Forward, tcp_to("192.0.2.10", 81));
  EXPECT_EQ(other.effective(), Action::Drop);
  EXPECT_EQ(evaluate(c, Chain::Input, tcp_to("192.0.2.10", 22)).effective(), Action::Accept);
}

TEST(ConfigParse, RouterAddressesAndNat) {
  auto r = parse_string(R"(
[[interface]]
name = "lan0"
zone = "lan"
addresses = ["192.168.1.1/24", "fd00:1::1/64"]

[[interface]]
name = "wan0"
addresses = ["203.0.113.2/29"]

[zones.lan]
networks = ["192.168.1.0/24"]

[[nat]]
masquerade = { out_interface = "wan0", from = "zone:lan" }

[[nat]]
masquerade = { out_interface = "lan0" }

[[nat]]
port_forward = { in_interface = "wan0", proto = "tcp", port = 80, to = "192.168.1.10", to_port = 8080 }

[[nat]]
port_forward = { in_interface = "wan0", proto = "udp", port = 53, to = "192.168.1.11" }
)",
                        "router.toml");
  ASSERT_TRUE(r.config) << format(r.diagnostics);
  const auto& c = *r.config;
  ASSERT_EQ(c.interfaces[0].addresses.size(), 2u);
  EXPECT_EQ(c.interfaces[0].addresses[0].to_string(), "192.168.1.1/24");  // host bits kept
  EXPECT_EQ(c.interfaces[0].addresses[1].to_string(), "fd00:1::1/64");
  EXPECT_EQ(c.interfaces[1].addresses[0].to_string(), "203.0.113.2/29");

  ASSERT_EQ(c.masquerades.size(), 2u);
  EXPECT_EQ(describe_nat(c.masquerades[0]), "masquerade zone:lan out wan0");
  EXPECT_EQ(c.masquerades[0].from.prefixes.at(0).to_string(), "192.168.1.0/24");
  EXPECT_TRUE(c.masquerades[1].from.any);

  ASSERT_EQ(c.port_forwards.size(), 2u);
  EXPECT_EQ(describe_nat(c.port_forwards[0]), "forward tcp 80 on wan0 to 192.168.1.10:8080");
  EXPECT_EQ(c.port_forwards[1].to_port, 53);  // defaults to the public port
  EXPECT_EQ(c.port_forwards[1].proto, Protocol::Udp);
}

TEST(ConfigParse, FlowLogSettings) {
  auto defaults = parse_string("", "t.toml");
  ASSERT_TRUE(defaults.config);
  EXPECT_EQ(defaults.config->flows.memory, 10000u);
  EXPECT_TRUE(defaults.config->flows.history);
  EXPECT_EQ(defaults.config->flows.history_max_age_seconds, 7 * 86400u);
  EXPECT_EQ(defaults.config->flows.history_max_mb, 256u);
  EXPECT_EQ(defaults.config->flows.events, FlowEvents::All);
  auto r = parse_string(
      "[flows]\nevents = \"denied\"\nmemory = 500\nhistory = false\nhistory_max_age = "
      "\"90m\"\nhistory_max_mb = 64\n",
      "t.toml");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->flows.memory, 500u);
  EXPECT_FALSE(r.config->flows.history);
  EXPECT_EQ(r.config->flows.history_max_age_seconds, 90 * 60u);
  EXPECT_EQ(r.config->flows.history_max_mb, 64u);
  EXPECT_EQ(r.config->flows.events, FlowEvents::Denied);
}

TEST(ConfigParse, ConntrackSize) {
  auto defaults = parse_string("", "t.toml");
  ASSERT_TRUE(defaults.config);
  EXPECT_EQ(defaults.config->conntrack.entries, 0u) << "auto: from the host's memory";
  auto set = parse_string("[conntrack]\nentries = 1000000\n", "t.toml");
  ASSERT_TRUE(set.config);
  EXPECT_EQ(set.config->conntrack.entries, 1000000u);
  auto automatic = parse_string("[conntrack]\nentries = \"auto\"\n", "t.toml");
  ASSERT_TRUE(automatic.config);
  EXPECT_EQ(automatic.config->conntrack.entries, 0u);
  EXPECT_EQ(defaults.config->conntrack.other_entries, 0u) << "auto: half the TCP table's";
  auto other = parse_string("[conntrack]\nother_entries = 65536\n", "t.toml");
  ASSERT_TRUE(other.config);
  EXPECT_EQ(other.config->conntrack.entries, 0u);
  EXPECT_EQ(other.config->conntrack.other_entries, 65536u);
  auto both_auto =
      parse_string("[conntrack]\nentries = 4096\nother_entries = \"auto\"\n", "t.toml");
  ASSERT_TRUE(both_auto.config);
  EXPECT_EQ(both_auto.config->conntrack.entries, 4096u);
  EXPECT_EQ(both_auto.config->conntrack.other_entries, 0u);
}

TEST(ConfigParse, KubernetesSettings) {
  auto defaults = parse_string("", "t.toml");
  ASSERT_TRUE(defaults.config);
  EXPECT_FALSE(defaults.config->kubernetes.enabled);
  auto dir = std::filesystem::temp_directory_path() / "sluice-kubeconfig-parse";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "k3s.yaml") << "apiVersion: v1\n";
  auto r = parse_string(
      "[kubernetes]\nenabled = true\nkubeconfig = \"k3s.yaml\"\ncontext = \"default\"\n"
      "node_name = \"node-1.lab\"\ntunnel = \"vxlan\"\n",
      "sluice.toml", dir.string());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(r.config) << r.diagnostics.front().to_string();
  const auto& k = r.config->kubernetes;
  EXPECT_TRUE(k.enabled);
  EXPECT_EQ(k.kubeconfig, (dir / "k3s.yaml").string());  // next to the config file
  EXPECT_EQ(k.context, "default");
  EXPECT_EQ(k.node_name, "node-1.lab");
  EXPECT_EQ(k.tunnel, sluice::config::Tunnel::Vxlan);
}

TEST(ConfigParse, EmptyFileAcceptsEverything) {
  auto r = parse_string("", "empty.toml");
  ASSERT_TRUE(r.config);
  EXPECT_TRUE(r.config->rules.empty());
  for (auto a : r.config->chain_defaults) EXPECT_EQ(a, Action::Accept);
}

TEST(ConfigParse, ShippedExamplesAreValid) {
  for (const char* f :
       {SLUICE_SOURCE_DIR "/config/sluice.toml", SLUICE_SOURCE_DIR "/config/examples/lab.toml"}) {
    auto r = parse_file(f);
    EXPECT_TRUE(r.diagnostics.empty()) << f << "\n" << format(r.diagnostics);
  }
}

}  // namespace

namespace {

TEST(ConfigParse, APlaintextApiBeyondLoopbackIsAcceptedOnlyWhenSaidOutright) {
  for (const char* listen :
       {"127.0.0.1:9090", "127.1.2.3:80", "[::1]:9090", "localhost:9090", ""}) {
    auto r =
        sluice::config::parse_string(std::string("[api]\nlisten = \"") + listen + "\"\n", "t.toml");
    EXPECT_TRUE(r.config) << listen;
  }
  auto r = sluice::config::parse_string(
      "[api]\nlisten = \"192.0.2.1:9090\"\ninsecure_plaintext = true\n", "t.toml");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->api_listen, "192.0.2.1:9090");
}

}  // namespace

namespace {

// A zone named only on interfaces stands for them: arrived on (from), left
// by (to); in_interface / out_interface name them directly.
TEST(ConfigParse, InterfacesAndZonesOfInterfaces) {
  auto r = sluice::config::parse_string(R"(
[[interface]]
name = "lan0"
zone = "lan"
[[interface]]
name = "lan1"
zone = "lan"
[[interface]]
name = "wan0"
zone = "wan"
[[rule]]
name = "out"
chain = "forward"
from = "zone:lan"
to = "zone:wan"
action = "accept"
[[rule]]
name = "ssh-from-lan0"
chain = "input"
in_interface = "lan0"
from = "192.168.1.0/24"
proto = "tcp"
port = 22
action = "accept"
[[rule]]
name = "to-wan"
chain = "output"
out_interface = ["wan0"]
action = "accept"
)",
                                        "t.toml");
  ASSERT_TRUE(r.config) << sluice::config::format(r.diagnostics);
  const auto& rules = r.config->rules;
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].in_interfaces, (std::vector<std::string>{"lan0", "lan1"}));
  EXPECT_EQ(rules[0].out_interfaces, (std::vector<std::string>{"wan0"}));
  EXPECT_TRUE(rules[0].from.any) << "addresses: any";
  EXPECT_TRUE(rules[0].to.any);
  EXPECT_EQ(rules[1].in_interfaces, (std::vector<std::string>{"lan0"}));
  EXPECT_TRUE(rules[1].out_interfaces.empty());
  EXPECT_FALSE(rules[1].from.any);
  EXPECT_EQ(rules[2].out_interfaces, (std::vector<std::string>{"wan0"}));
}

}  // namespace
