// Bad configs: each case asserts every diagnostic, with its exact
// file:line:col, key and message. A config with errors yields no Config.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "config/parser.h"

namespace {

using sluice::config::parse_string;

struct BadConfig {
  const char* name;
  const char* toml;
  std::vector<std::string> expected;  // Diagnostic::to_string(), in order
};

std::vector<std::string> diagnostics_of(const char* toml) {
  auto result = parse_string(toml, "t.toml", SLUICE_TEST_DATA_DIR);
  std::vector<std::string> out;
  for (const auto& d : result.diagnostics) out.push_back(d.to_string());
  EXPECT_EQ(result.config.has_value(), out.empty());
  return out;
}

const BadConfig kCases[] = {
    {"syntax error",
     "[chains]\ninput = \"drop\n",
     {"t.toml:2:14: TOML syntax error: Error while parsing string: unescaped control characters "
      "other than TAB (U+0009) are explicitly prohibited"}},
    {"unknown top-level key",
     "[chain]\ninput = \"drop\"\n",
     {"t.toml:1:2: chain: unknown key; expected one of: api, interface, zones, sets, chains, rule, "
      "prefilter, router, route, nat, flows, conntrack, containers, endpoint, proxy, kubernetes"}},
    {"conntrack: too small, a word, an unknown key",
     "[conntrack]\nentries = 100\n",
     {"t.toml:2:11: conntrack.entries: must be \"auto\" or a number of entries from 1024 to "
      "16777216"}},
    {"conntrack: a word other than auto, an unknown key",
     "[conntrack]\nentries = \"lots\"\ntcp = 5\n",
     {"t.toml:3:1: conntrack.tcp: unknown key; expected one of: entries, other_entries",
      "t.toml:2:11: conntrack.entries: must be \"auto\" or a number of entries from 1024 to "
      "16777216"}},
    {"conntrack: the other protocols' table too large, or not a number",
     "[conntrack]\nother_entries = 20000000\n",
     {"t.toml:2:17: conntrack.other_entries: must be \"auto\" or a number of entries from 1024 "
      "to 16777216"}},
    {"conntrack: the other protocols' table as a word",
     "[conntrack]\nother_entries = \"half\"\n",
     {"t.toml:2:17: conntrack.other_entries: must be \"auto\" or a number of entries from 1024 "
      "to 16777216"}},
    {"kubernetes: wrong types, a missing kubeconfig, a bad node name, an unknown tunnel",
     "[kubernetes]\nenabled = \"yes\"\nnode_name = \"Node_1\"\ntunnel = \"gre\"\n"
     "context = \"lab\"\nwatch = true\n",
     {"t.toml:6:1: kubernetes.watch: unknown key; expected one of: enabled, kubeconfig, context, "
      "node_name, tunnel",
      "t.toml:2:11: kubernetes.enabled: must be true or false",
      "t.toml:5:11: kubernetes.context: names a context of a kubeconfig: give "
      "kubernetes.kubeconfig "
      "too",
      "t.toml:3:13: kubernetes.node_name: 'Node_1' is not a node name (lower-case letters, digits, "
      "'-' and '.', at most 253 characters)",
      "t.toml:4:10: kubernetes.tunnel: 'gre' is not a tunnel mode; use \"none\" or \"vxlan\""}},
    {"kubernetes: a kubeconfig that cannot be read",
     "[kubernetes]\nenabled = true\nkubeconfig = \"/nonexistent/k3s.yaml\"\n",
     {"t.toml:3:14: kubernetes.kubeconfig: cannot read '/nonexistent/k3s.yaml' (a readable "
      "kubeconfig file)"}},
    {"container pools: wrong family, too narrow, not a network, overlapping, unknown key",
     "[[interface]]\nname = \"lan0\"\naddresses = [\"10.89.0.1/24\"]\n\n[containers]\n"
     "ipv4 = \"fd00::/64\"\nipv6 = \"fd00::/127\"\npool = 1\n",
     {"t.toml:8:1: containers.pool: unknown key; expected one of: ipv4, ipv6, masquerade",
      "t.toml:6:8: containers.ipv4: 'fd00::/64' is not an IPv4 network of /30 or wider, like "
      "\"10.89.0.0/24\"",
      "t.toml:7:8: containers.ipv6: 'fd00::/127' is not an IPv6 network of /126 or wider, like "
      "\"fd00:89::/64\""}},
    {"container masquerade by an unconfigured interface, and without a pool",
     "[containers]\nmasquerade = \"wan0\"\n",
     {"t.toml:2:14: containers.masquerade: interface 'wan0' is not configured; add it as an "
      "[[interface]]"}},
    {"container pool overlapping an interface's network, and with host bits",
     "[[interface]]\nname = \"lan0\"\naddresses = [\"10.89.0.1/24\"]\n\n[containers]\n"
     "ipv4 = \"10.89.0.0/25\"\nipv6 = \"fd00::1/64\"\n",
     {"t.toml:6:8: containers.ipv4: '10.89.0.0/25' overlaps 10.89.0.1/24 of interface lan0; "
      "containers need addresses of their own",
      "t.toml:7:8: containers.ipv6: 'fd00::1/64' has host bits set; write fd00::/64"}},
    {"unknown api key",
     "[api]\nlisten = \"127.0.0.1:9090\"\nmanagment = \"10.0.0.0/8\"\n",
     {"t.toml:3:1: api.managment: unknown key; expected one of: listen, management, "
      "management_ports, anti_lockout, tls_cert, tls_key, insecure_plaintext"}},
    {"remote api listen without tls",
     "[api]\nlisten = \"0.0.0.0:9090\"\n",
     {"t.toml:2:10: api.listen: '0.0.0.0:9090' is reachable from other hosts, and without TLS "
      "passwords and session cookies would cross the network in the clear; set tls_cert and "
      "tls_key, listen on 127.0.0.1, or set insecure_plaintext = true to accept that"}},
    {"remote api listen v6 without tls",
     "[api]\nlisten = \"[2001:db8::1]:9090\"\ninsecure_plaintext = false\n",
     {"t.toml:2:10: api.listen: '[2001:db8::1]:9090' is reachable from other hosts, and without "
      "TLS passwords and session cookies would cross the network in the clear; set tls_cert and "
      "tls_key, listen on 127.0.0.1, or set insecure_plaintext = true to accept that"}},
    {"insecure_plaintext not a bool",
     "[api]\nlisten = \"127.0.0.1:9090\"\ninsecure_plaintext = \"yes\"\n",
     {"t.toml:3:22: api.insecure_plaintext: must be true or false"}},
    {"unknown rule key (typo)",
     "[[rule]]\nname = \"a\"\nchain = \"input\"\naction = \"accept\"\nprot = \"tcp\"\n",
     {"t.toml:5:1: rule[0].prot: unknown key; expected one of: name, chain, from, to, "
      "in_interface, out_interface, proto, port, icmp_type, action, mode, log, comment, http, "
      "tls_sni, l7"}},
    {"unknown chains key",
     "[chains]\ninptu = \"drop\"\n",
     {"t.toml:2:1: chains.inptu: unknown key; expected one of: input, forward, output"}},
    {"bad chain default",
     "[chains]\ninput = \"reject\"\n",
     {"t.toml:2:9: chains.input: 'reject' is not a chain default; use \"accept\" or \"drop\""}},
    {"chain default not a string",
     "[chains]\ninput = 1\n",
     {"t.toml:2:9: chains.input: must be a string, in double quotes"}},
    {"rule without name",
     "[[rule]]\nchain = \"input\"\naction = \"drop\"\n",
     {"t.toml:1:1: rule[0]: missing key 'name'; every rule needs a unique name"}},
    {"rule without chain and action",
     "[[rule]]\nname = \"x\"\n",
     {"t.toml:1:1: rule 'x': missing key 'chain' (\"input\", \"forward\" or \"output\")",
      "t.toml:1:1: rule 'x': missing key 'action' (\"accept\", \"drop\" or \"reject\")"}},
    {"bad chain",
     "[[rule]]\nname = \"x\"\nchain = \"prerouting\"\naction = \"drop\"\n",
     {"t.toml:3:9: rule 'x'.chain: 'prerouting' is not a chain; use \"input\", \"forward\" or "
      "\"output\""}},
    {"bad action",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"allow\"\n",
     {"t.toml:4:10: rule 'x'.action: 'allow' is not an action; use \"accept\", \"drop\" or "
      "\"reject\""}},
    {"bad proto",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\nproto = \"sctp\"\n",
     {"t.toml:5:9: rule 'x'.proto: 'sctp' is not a protocol; use \"tcp\", \"udp\", \"icmp\", "
      "\"icmpv6\" or \"any\""}},
    {"duplicate rule name",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\n"
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"accept\"\n",
     {"t.toml:6:8: rule[1].name: duplicate rule name 'x' (first used at line 2); names must be "
      "unique"}},
    {"port zero",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\nproto = \"tcp\"\nport = 0\n",
     {"t.toml:6:8: rule 'x'.port: port 0 is out of range 1-65535"}},
    {"port too large",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\nproto = \"udp\"\nport = "
     "65536\n",
     {"t.toml:6:8: rule 'x'.port: port 65536 is out of range 1-65535"}},
    {"reversed range",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\nproto = \"tcp\"\nport = "
     "\"2000-1000\"\n",
     {"t.toml:6:8: rule 'x'.port: port range '2000-1000' is reversed; write \"1000-2000\""}},
    {"malformed range",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\nproto = \"tcp\"\nport = "
     "\"80:90\"\n",
     {"t.toml:6:8: rule 'x'.port: '80:90' is not a port range; write \"FIRST-LAST\", e.g. "
      "\"8000-8100\""}},
    {"range out of bounds inside a list",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\nproto = \"tcp\"\nport = [22, "
     "\"1-70000\"]\n",
     {"t.toml:6:13: rule 'x'.port: port range '1-70000' is out of range 1-65535"}},
    {"port without tcp/udp",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\nport = 22\n",
     {"t.toml:5:8: rule 'x'.port: ports need proto = \"tcp\" or \"udp\" (this rule's proto is "
      "any)"}},
    {"empty port list",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\nproto = \"tcp\"\nport = []\n",
     {"t.toml:6:8: rule 'x'.port: empty port list matches nothing; remove the key to match any "
      "port"}},
    {"icmp_type without icmp",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\nproto = \"tcp\"\nicmp_type = "
     "8\n",
     {"t.toml:6:13: rule 'x'.icmp_type: icmp_type needs proto = \"icmp\" or \"icmpv6\""}},
    {"icmp_type out of range",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\nproto = \"icmp\"\nicmp_type = "
     "300\n",
     {"t.toml:6:13: rule 'x'.icmp_type: must be an ICMP type number 0-255"}},
    {"bad address",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\nfrom = \"10.0.0.300\"\n",
     {"t.toml:5:8: rule 'x'.from: '10.0.0.300' is not an IPv4 or IPv6 address (nor \"any\", "
      "\"set:NAME\" or \"zone:NAME\")"}},
    {"host bits set",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\nfrom = \"10.0.0.1/24\"\n",
     {"t.toml:5:8: rule 'x'.from: '10.0.0.1/24' has host bits set; write 10.0.0.0/24 (nor \"any\", "
      "\"set:NAME\" or \"zone:NAME\")"}},
    {"prefix length too long",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\nto = [\"10.0.0.0/8\", "
     "\"2001:db8::/129\"]\n",
     {"t.toml:5:21: rule 'x'.to: prefix length in '2001:db8::/129' must be 0..128 (nor \"any\", "
      "\"set:NAME\" or \"zone:NAME\")"}},
    {"undefined set",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\nfrom = \"set:admins\"\n",
     {"t.toml:5:8: rule 'x'.from: set 'admins' is not defined; define it under [sets]"}},
    {"empty set",
     "[sets]\nadmins = []\n",
     {"t.toml:2:10: sets.admins: set is empty; list at least one address or remove the set"}},
    {"bad address in set",
     "[sets]\nadmins = [\"192.168.1.10\", \"192.168.1.x\"]\n",
     {"t.toml:2:27: sets.admins: '192.168.1.x' is not an IPv4 or IPv6 address"}},
    {"a rule from a set whose addresses are all wrong (found by fuzz.config)",
     "[sets]\nadmins = [\"10.10+1.10\"]\n[[rule]]\nname = \"x\"\nchain = \"input\"\nfrom = "
     "\"set:admins\"\naction = \"accept\"\n",
     {"t.toml:2:11: sets.admins: '10.10+1.10' is not an IPv4 or IPv6 address"}},
    {"set file missing",
     "[sets]\nblock = { file = \"no-such-list.txt\" }\n",
     {"t.toml:2:18: sets.block.file: cannot read address list '" SLUICE_TEST_DATA_DIR
      "/no-such-list.txt': No such file or directory"}},
    {"bad line in set file",
     "[sets]\nblock = { file = \"bad-list.txt\" }\n",
     {SLUICE_TEST_DATA_DIR "/bad-list.txt:3:3: sets.block: prefix length out of range (0..32 for "
                           "IPv4, 0..128 for IPv6)"}},
    {"undefined zone",
     "[[rule]]\nname = \"x\"\nchain = \"forward\"\naction = \"accept\"\nfrom = \"zone:lan\"\n",
     {"t.toml:5:8: rule 'x'.from: zone 'lan' is not defined; name it on an [[interface]] or under "
      "[zones]"}},
    {"zone without networks outside rules",
     "[[interface]]\nname = \"eth1\"\nzone = \"lan\"\n"
     "[api]\nmanagement = \"zone:lan\"\n",
     {"t.toml:5:14: api.management: zone 'lan' has no networks; add networks = [...] under "
      "[zones.lan] (only rules match zones by their interfaces)"}},
    {"zone of interfaces in a list",
     "[[interface]]\nname = \"eth1\"\nzone = \"lan\"\n"
     "[[rule]]\nname = \"x\"\nchain = \"forward\"\naction = \"accept\"\n"
     "from = [\"zone:lan\", \"10.0.0.0/8\"]\n",
     {"t.toml:8:9: rule 'x'.from: zone 'lan' has no networks, so it matches by interface, which "
      "cannot be listed with addresses; write a rule for each"}},
    {"interface sluice does not manage",
     "[[interface]]\nname = \"eth1\"\n"
     "[[rule]]\nname = \"x\"\nchain = \"forward\"\naction = \"accept\"\n"
     "in_interface = [\"eth1\", \"eth9\"]\n",
     {"t.toml:7:25: rule 'x'.in_interface: interface 'eth9' is not one sluice manages, so no "
      "packet of it is ever seen; add an [[interface]] with name = \"eth9\""}},
    {"out_interface on the input chain",
     "[[interface]]\nname = \"eth1\"\n"
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"accept\"\n"
     "out_interface = \"eth1\"\n",
     {"t.toml:7:17: rule 'x'.out_interface: can never match: packets of the input chain are for "
      "this host and leave by no interface"}},
    {"in_interface on the output chain, by zone",
     "[[interface]]\nname = \"eth1\"\nzone = \"lan\"\n"
     "[[rule]]\nname = \"x\"\nchain = \"output\"\naction = \"accept\"\nfrom = \"zone:lan\"\n",
     {"t.toml:8:8: rule 'x'.in_interface: can never match: packets of the output chain come from "
      "this host, not in by an interface"}},
    {"interface both by key and by zone",
     "[[interface]]\nname = \"eth1\"\nzone = \"lan\"\n"
     "[[rule]]\nname = \"x\"\nchain = \"forward\"\naction = \"accept\"\nfrom = \"zone:lan\"\n"
     "in_interface = \"eth1\"\n",
     {"t.toml:9:16: rule 'x'.in_interface: give either in_interface or a zone of interfaces in "
      "from, not both"}},
    {"any mixed into a list",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\nfrom = [\"any\", "
     "\"10.0.0.0/8\"]\n",
     {"t.toml:5:9: rule 'x'.from: \"any\" in a list with other addresses; keep only \"any\""}},
    {"families that cannot match",
     "[[rule]]\nname = \"x\"\nchain = \"forward\"\naction = \"drop\"\nfrom = \"10.0.0.0/8\"\nto = "
     "\"2001:db8::/32\"\n",
     {"t.toml:6:6: rule 'x'.to: can never match: from has only IPv4 addresses and to only IPv6 "
      "ones; split the rule by family"}},
    {"icmp with IPv6 addresses",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\nproto = \"icmp\"\nfrom = "
     "\"2001:db8::1\"\n",
     {"t.toml:5:9: rule 'x'.proto: can never match: icmp is IPv4 but the addresses are IPv6; use "
      "\"icmpv6\""}},
    {"selector with neither labels nor container",
     "[[rule]]\nname = \"x\"\nchain = \"forward\"\naction = \"accept\"\nfrom = {}\n",
     {"t.toml:5:8: rule 'x'.from: a container selector needs labels = { ... } and/or container = "
      "\"glob\""}},
    {"selector with an unknown key",
     "[[rule]]\nname = \"x\"\nchain = \"forward\"\naction = \"accept\"\nfrom = { label = { "
     "app = \"web\" } }\n",
     {"t.toml:5:10: rule 'x'.from.label: unknown key; expected one of: labels, container",
      "t.toml:5:8: rule 'x'.from: a container selector needs labels = { ... } and/or container = "
      "\"glob\""}},
    {"label value not a string",
     "[[rule]]\nname = \"x\"\nchain = \"forward\"\naction = \"accept\"\nto = { labels = { app "
     "= 1 } }\n",
     {"t.toml:5:25: rule 'x'.to.labels.app: a label's value must be a string, in double quotes"}},
    {"bad label name",
     "[[rule]]\nname = \"x\"\nchain = \"forward\"\naction = \"accept\"\nto = { labels = { "
     "\"-app\" = \"web\" } }\n",
     {"t.toml:5:19: rule 'x'.to.labels.-app: a label name must begin and end with a letter or "
      "digit"}},
    {"bad container glob",
     "[[rule]]\nname = \"x\"\nchain = \"forward\"\naction = \"accept\"\nfrom = { container = "
     "\"web/1\" }\n",
     {"t.toml:5:22: rule 'x'.from.container: container name glob may hold only letters, digits, "
      "'-', '_', '.', ':' and the wildcards '*' and '?'"}},
    {"selector outside a rule",
     "[[nat]]\nmasquerade = { out_interface = \"eth0\", from = { labels = { app = \"web\" } } }\n"
     "[[interface]]\nname = \"eth0\"\n",
     {"t.toml:2:47: nat[0].masquerade.from: must be \"any\", an address or CIDR, \"set:NAME\", "
      "\"zone:NAME\", or an array of those"}},
    {"endpoint without match",
     "[[endpoint]]\nlabels = { app = \"web\" }\n",
     {"t.toml:1:1: endpoint[0].match: needs match = { container = \"glob\" } (and optionally "
      "network = \"NAME\")"}},
    {"endpoint without labels",
     "[[endpoint]]\nmatch = { container = \"web-*\" }\n",
     {"t.toml:1:1: endpoint[0]: missing key 'labels' (e.g. labels = { app = \"web\" })"}},
    {"endpoint match without container",
     "[[endpoint]]\nmatch = { network = \"sluice\" }\nlabels = { app = \"web\" }\n",
     {"t.toml:2:9: endpoint[0].match: missing key 'container' (a container name glob, e.g. "
      "\"web-*\")"}},
    {"endpoint with an unknown key",
     "[[endpoint]]\nmatch = { container = \"web-*\" }\nlabels = { app = \"web\" }\nname = \"x\"\n",
     {"t.toml:4:1: endpoint[0].name: unknown key; expected one of: match, labels"}},
    {"endpoint not an array of tables",
     "endpoint = \"web\"\n",
     {"t.toml:1:12: endpoint: must be an array of tables ([[endpoint]])"}},
    {"duplicate interface",
     "[[interface]]\nname = \"eth0\"\n[[interface]]\nname = \"eth0\"\n",
     {"t.toml:4:8: interface[1].name: interface 'eth0' is already configured at line 1"}},
    {"bad interface name",
     "[[interface]]\nname = \"a/b\"\n",
     {"t.toml:2:8: interface[0].name: 'a/b' is not a valid interface name (1-15 characters, no '/' "
      "or space)"}},
    {"prefilter not a set",
     "[prefilter]\ndrop_from = \"10.0.0.0/8\"\n",
     {"t.toml:2:13: prefilter.drop_from: must name an address set, written \"set:NAME\""}},
    {"prefilter undefined set",
     "[prefilter]\ndrop_from = \"set:nope\"\n",
     {"t.toml:2:13: prefilter.drop_from: set 'nope' is not defined; define it under [sets]"}},
    {"log not a bool",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\nlog = \"yes\"\n",
     {"t.toml:5:7: rule 'x'.log: must be true or false"}},
    {"rule as a plain table",
     "[rule]\nname = \"x\"\n",
     {"t.toml:1:1: rule: must be an array of tables, written [[rule]]"}},
    {"management from an undefined set",
     "[api]\nmanagement = \"set:ops\"\n",
     {"t.toml:2:14: api.management: set 'ops' is not defined; define it under [sets]"}},
    {"management ports without management",
     "[api]\nmanagement_ports = [22]\n",
     {"t.toml:2:20: api.management_ports: management_ports needs management = ... (the sources "
      "always let in)"}},
    {"management port out of range",
     "[api]\nmanagement = \"10.0.0.0/8\"\nmanagement_ports = [22, 70000]\n",
     {"t.toml:3:25: api.management_ports: port 70000 is out of range 1-65535"}},
    {"anti_lockout not a bool",
     "[api]\nanti_lockout = \"no\"\n",
     {"t.toml:2:16: api.anti_lockout: must be true or false"}},
    {"rule named like the anti-lockout rule",
     "[[rule]]\nname = \"anti-lockout\"\nchain = \"input\"\naction = \"drop\"\n",
     {"t.toml:2:8: rule[0].name: 'anti-lockout' is reserved for the rule [api] management makes; "
      "choose another name"}},
    {"bad rule mode",
     "[[rule]]\nname = \"x\"\nchain = \"input\"\naction = \"drop\"\nmode = \"dry-run\"\n",
     {"t.toml:5:8: rule 'x'.mode: 'dry-run' is not a mode; use \"enforce\" or \"audit\""}},
    {"chain table without a default",
     "[chains]\ninput = { mode = \"audit\" }\n",
     {"t.toml:2:9: chains.input: missing key 'default' (\"accept\" or \"drop\")"}},
    {"chain table with an unknown key",
     "[chains]\ninput = { default = \"drop\", mdoe = \"audit\" }\n",
     {"t.toml:2:29: chains.input.mdoe: unknown key; expected one of: default, mode"}},
    {"route without to",
     "[[route]]\nvia = \"10.0.0.1\"\n",
     {"t.toml:1:1: route[0]: missing key 'to' (the destination network, e.g. \"10.20.0.0/16\")"}},
    {"route next hop of the other family",
     "[[route]]\nto = \"10.20.0.0/16\"\nvia = \"2001:db8::1\"\n",
     {"t.toml:3:7: route[0].via: next hop 2001:db8::1 is not of the same family as 10.20.0.0/16"}},
    {"route with neither via nor dev",
     "[[route]]\nto = \"10.20.0.0/16\"\n",
     {"t.toml:1:1: route[0]: a route needs via = \"NEXT HOP\", dev = \"INTERFACE\", or both"}},
    {"interface address with a bad length",
     "[[interface]]\nname = \"lan0\"\naddresses = [\"10.1.1.1/33\"]\n",
     {"t.toml:3:14: interface[0].addresses: prefix length in '10.1.1.1/33' must be 0..32"}},
    {"multicast interface address",
     "[[interface]]\nname = \"lan0\"\naddresses = [\"224.0.0.1/4\"]\n",
     {"t.toml:3:14: interface[0].addresses: '224.0.0.1/4' cannot be an interface address "
      "(multicast)"}},
    {"one address on two interfaces",
     "[[interface]]\nname = \"lan0\"\naddresses = [\"10.1.1.1/24\"]\n[[interface]]\nname = "
     "\"lan1\"\naddresses = [\"10.1.1.1/16\"]\n",
     {"t.toml:6:14: interface[1].addresses: address 10.1.1.1 is already given to "
      "interface[0].addresses"}},
    {"nat entry with both kinds",
     "[[interface]]\nname = \"wan0\"\n[[nat]]\nmasquerade = { out_interface = \"wan0\" "
     "}\nport_forward = { in_interface = \"wan0\", proto = \"tcp\", port = 80, to = \"10.0.0.2\" "
     "}\n",
     {"t.toml:3:1: nat[0]: a [[nat]] entry needs exactly one of masquerade = {...} or port_forward "
      "= {...}"}},
    {"masquerade out of an unmanaged interface",
     "[[interface]]\nname = \"wan0\"\n[[nat]]\nmasquerade = { out_interface = \"eth9\" }\n",
     {"t.toml:4:32: nat[0].masquerade.out_interface: interface 'eth9' is not configured; add it as "
      "an [[interface]]"}},
    {"masquerade without an interface",
     "[[interface]]\nname = \"wan0\"\n[[nat]]\nmasquerade = { from = \"10.0.0.0/8\" }\n",
     {"t.toml:4:14: nat[0].masquerade: missing key 'out_interface' (an [[interface]] name)"}},
    {"masquerade from an unknown zone",
     "[[interface]]\nname = \"wan0\"\n[[nat]]\nmasquerade = { out_interface = \"wan0\", from = "
     "\"zone:lab\" }\n",
     {"t.toml:4:47: nat[0].masquerade.from: zone 'lab' is not defined; name it on an [[interface]] "
      "or under [zones]"}},
    {"port forward of icmp",
     "[[interface]]\nname = \"wan0\"\n[[nat]]\nport_forward = { in_interface = \"wan0\", proto = "
     "\"icmp\", port = 80, to = \"10.0.0.2\" }\n",
     {"t.toml:4:49: nat[0].port_forward.proto: 'icmp' is not a protocol that has ports; use "
      "\"tcp\" or \"udp\""}},
    {"port forward to a network",
     "[[interface]]\nname = \"wan0\"\n[[nat]]\nport_forward = { in_interface = \"wan0\", proto = "
     "\"tcp\", port = 80, to = \"10.0.0.0/24\" }\n",
     {"t.toml:4:72: nat[0].port_forward.to: '10.0.0.0/24' is not a host address"}},
    {"port forward to port zero",
     "[[interface]]\nname = \"wan0\"\n[[nat]]\nport_forward = { in_interface = \"wan0\", proto = "
     "\"tcp\", port = 80, to = \"10.0.0.2\", to_port = 0 }\n",
     {"t.toml:4:94: nat[0].port_forward.to_port: must be a port number 1-65535"}},
    {"one public port forwarded twice",
     "[[interface]]\nname = \"wan0\"\n[[nat]]\nport_forward = { in_interface = \"wan0\", proto = "
     "\"tcp\", port = 80, to = \"10.0.0.2\" }\n"
     "[[nat]]\nport_forward = { in_interface = \"wan0\", proto = \"tcp\", port = 80, to = "
     "\"10.0.0.3\" }\n",
     {"t.toml:6:63: nat[1].port_forward.port: tcp port 80 on wan0 is already forwarded at line 4"}},
    {"api listen without a port",
     "[api]\nlisten = \"127.0.0.1\"\n",
     {"t.toml:2:10: api.listen: must be ADDRESS:PORT, e.g. \"127.0.0.1:9090\" or \"[::1]:9090\" "
      "(\"\" turns the API off)"}},
    {"tls key without certificate",
     "[api]\ntls_key = \"key.pem\"\n",
     {"t.toml:1:1: api: tls_cert and tls_key go together (a certificate and its private key)"}},
    {"tls files missing",
     "[api]\ntls_cert = \"/nonexistent/cert.pem\"\ntls_key = \"/nonexistent/key.pem\"\n",
     {"t.toml:2:12: api.tls_cert: cannot read '/nonexistent/cert.pem' (a readable regular file)",
      "t.toml:3:11: api.tls_key: cannot read '/nonexistent/key.pem' (a readable regular file)"}},
    {"unknown flows key",
     "[flows]\nhistory_days = 7\n",
     {"t.toml:2:1: flows.history_days: unknown key; expected one of: events, memory, history, "
      "history_max_age, history_max_mb"}},
    {"bad flow events setting",
     "[flows]\nevents = \"some\"\n",
     {"t.toml:2:10: flows.events: 'some' is not a flow event setting; use \"all\" or \"denied\""}},
    {"flow memory out of range",
     "[flows]\nmemory = 10\n",
     {"t.toml:2:10: flows.memory: must be a number of flow records from 100 to 10000000"}},
    {"flow history not a bool",
     "[flows]\nhistory = \"yes\"\n",
     {"t.toml:2:11: flows.history: must be true or false"}},
    {"flow history age without unit",
     "[flows]\nhistory_max_age = \"7\"\n",
     {"t.toml:2:19: flows.history_max_age: must be a duration like \"90s\", \"30m\", \"12h\" or "
      "\"7d\""}},
    {"flow history age zero",
     "[flows]\nhistory_max_age = \"0d\"\n",
     {"t.toml:2:19: flows.history_max_age: must be a duration like \"90s\", \"30m\", \"12h\" or "
      "\"7d\""}},
    {"flow history size",
     "[flows]\nhistory_max_mb = 0\n",
     {"t.toml:2:18: flows.history_max_mb: must be a size in MiB from 1 to 1000000"}},
};

class ConfigErrors : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ConfigErrors, ReportsExactLocationAndMessage) {
  EXPECT_EQ(diagnostics_of(GetParam().toml), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Cases, ConfigErrors, ::testing::ValuesIn(kCases), [](const auto& info) {
  std::string n = info.param.name;
  for (auto& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
});

TEST(ConfigErrors, UnreadableFileIsReportedNotThrown) {
  auto r = sluice::config::parse_file("/nonexistent/sluice.toml");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].to_string(),
            "/nonexistent/sluice.toml:0:0: cannot read config file: No such file or directory");
  EXPECT_FALSE(r.config);
}

}  // namespace
