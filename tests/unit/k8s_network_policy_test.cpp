// NetworkPolicy v1 translated into forward rules, checked against the
// conformance cases (tests/k8s/netpol_cases.py): every case's policies
// are translated, every pod pair, port and protocol is evaluated by the
// reference evaluator (the datapath's oracle) and compared with the
// reachability the case expects. The same cases run over real network
// namespaces in the integration suite.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "k8s/network_policy.h"
#include "k8s/objects.h"
#include "k8s/policy_sets.h"
#include "policy/compiler.h"
#include "policy/reference_evaluator.h"

namespace {

using nlohmann::json;
using namespace sluice;

json load_cases() {
  std::ifstream in(SLUICE_TEST_DATA_DIR "/k8s/netpol_cases.json");
  return json::parse(in);
}

struct PodAt {
  std::string ns, name;
  std::string address;
  std::string id() const { return ns + "/" + name; }
};

std::vector<PodAt> model_pods(const json& cases) {
  std::vector<PodAt> out;
  int n = 10;
  for (const auto& ns : cases["namespaces"])
    for (const auto& pod : cases["pods"])
      out.push_back({ns, pod, "10.42.0." + std::to_string(n++)});
  return out;
}

std::string substitute(std::string text, const std::vector<PodAt>& pods) {
  auto replace = [&](const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
      text.replace(at, from.size(), to);
  };
  for (const auto& p : pods) replace("${pod:" + p.id() + "}", p.address);
  replace("${pool}", "10.42.0.0/24");
  return text;
}

k8s::Cluster cluster_of(const json& cases, const json& step, const std::vector<PodAt>& pods) {
  k8s::Cluster c;
  for (const auto& ns : cases["namespaces"]) {
    json labels = {{"ns", ns}};
    if (step.contains("namespace_labels") && step["namespace_labels"].contains(ns))
      labels.update(step["namespace_labels"][ns.get<std::string>()]);
    c.namespaces.push_back(
        k8s::parse_namespace({{"metadata", {{"name", ns}, {"labels", labels}}}}));
  }
  for (const auto& p : pods) {
    json labels = {{"pod", p.name}};
    if (step.contains("pod_labels") && step["pod_labels"].contains(p.id()))
      labels.update(step["pod_labels"][p.id()]);
    json pod = {{"metadata", {{"namespace", p.ns}, {"name", p.name}, {"labels", labels}}},
                {"spec", {{"containers", {{{"name", "server"}, {"ports", cases["pod_ports"]}}}}}},
                {"status", {{"phase", "Running"}, {"podIPs", {{{"ip", p.address}}}}}}};
    c.pods.push_back(k8s::parse_pod(pod));
  }
  for (const auto& p : json::parse(substitute(step["policies"].dump(), pods))) {
    c.policies.push_back(k8s::parse_network_policy(p));
    EXPECT_EQ(c.policies.back().error, "") << p.dump();
  }
  return c;
}

bool matches(const std::string& pattern, const PodAt& p) {
  if (pattern == "*") return true;
  auto slash = pattern.find('/');
  auto ns = pattern.substr(0, slash), name = pattern.substr(slash + 1);
  return (ns == "*" || ns == p.ns) && (name == "*" || name == p.name);
}

bool listed(const json& op, const char* key, const json& value) {
  if (!op.contains(key)) return true;
  for (const auto& v : op[key])
    if (v == value) return true;
  return false;
}

// What the case expects for from -> to on (port, protocol): the upstream
// suite's way, a default and then operations in order; self always.
bool expected(const json& step, const PodAt& from, const PodAt& to, int port,
              const std::string& proto) {
  if (from.id() == to.id()) return true;
  bool allowed = step["default"];
  for (const auto& op : step["expect"])
    if (matches(op["from"], from) && matches(op["to"], to) && listed(op, "ports", port) &&
        listed(op, "protocols", proto))
      allowed = op["allow"];
  return allowed;
}

policy::PacketHeaders packet(const PodAt& from, const PodAt& to, int port,
                             const std::string& proto) {
  policy::PacketHeaders h;
  h.src = config::parse_prefix(from.address).prefix->addr;
  h.dst = config::parse_prefix(to.address).prefix->addr;
  h.proto = proto == "TCP" ? 6 : 17;
  h.dport = static_cast<std::uint16_t>(port);
  h.in_interface = "veth-" + from.id();
  h.out_interface = "veth-" + to.id();
  return h;
}

TEST(K8sNetworkPolicy, ConformanceCasesMatchTheirExpectedReachability) {
  auto cases = load_cases();
  auto pods = model_pods(cases);
  ASSERT_GE(cases["cases"].size(), 40u);
  std::size_t probes = 0;
  for (const auto& c : cases["cases"]) {
    int n = 0;
    for (const auto& step : c["steps"]) {
      ++n;
      SCOPED_TRACE(c["name"].get<std::string>() + " step " + std::to_string(n));
      config::Config cfg;
      cfg.chain_defaults[static_cast<int>(config::Chain::Forward)] = config::Action::Drop;
      cfg.rules = k8s::network_policy_rules(cluster_of(cases, step, pods));
      EXPECT_NO_THROW(policy::compile(cfg));  // the datapath takes them as they are
      std::vector<std::string> wrong;
      for (const auto& from : pods)
        for (const auto& to : pods)
          for (int port : cases["ports"])
            for (const std::string proto : cases["protocols"]) {
              if (from.id() == to.id()) continue;  // loopback: never forwarded
              ++probes;
              auto v = policy::evaluate(cfg, config::Chain::Forward, packet(from, to, port, proto));
              bool got = v.effective() == config::Action::Accept;
              if (got != expected(step, from, to, port, proto))
                wrong.push_back(from.id() + " -> " + to.id() + " " + proto + "/" +
                                std::to_string(port) + ": " +
                                std::string(got ? "allowed" : "denied") + " by " +
                                (v.rule_index ? cfg.rules[*v.rule_index].name : "default"));
            }
      EXPECT_TRUE(wrong.empty()) << wrong.size() << " wrong, first: " << wrong.front();
    }
  }
  EXPECT_GE(probes, 40u * 72 * 4);
}

TEST(K8sNetworkPolicy, ExceptLeavesExactlyTheRest) {
  auto p = [](const char* s) { return *config::parse_prefix(s).prefix; };
  auto rest = k8s::subtract(p("10.0.0.0/8"), {p("10.1.2.3/32"), p("10.200.0.0/16")});
  std::size_t addresses_outside = 0;
  for (const auto& r : rest) {
    EXPECT_FALSE(r.contains(p("10.1.2.3/32")) || p("10.200.0.0/16").contains(r)) << r.to_string();
    addresses_outside += std::size_t{1} << (32 - r.length);
  }
  EXPECT_EQ(addresses_outside, (std::size_t{1} << 24) - 1 - (std::size_t{1} << 16));
  EXPECT_TRUE(k8s::subtract(p("10.0.0.0/24"), {p("10.0.0.0/16")}).empty());
  EXPECT_EQ(k8s::subtract(p("10.0.0.0/24"), {p("2001:db8::/32")}).size(), 1u);
}

TEST(K8sNetworkPolicy, APolicyItCannotReadIsolatesItsNamespace) {
  json bad = {{"metadata", {{"namespace", "x"}, {"name", "future"}}},
              {"spec",
               {{"podSelector", {{"matchExpressions", {{{"key", "a"}, {"operator", "Near"}}}}}},
                {"policyTypes", {"Ingress", "Egress"}},
                {"ingress", json::array({json::object()})}}}};
  auto p = k8s::parse_network_policy(bad);
  EXPECT_NE(p.error.find("spec.podSelector.matchExpressions[0].operator \"Near\""),
            std::string::npos)
      << p.error;
  EXPECT_TRUE(p.ingress && p.egress);
  EXPECT_TRUE(p.ingress_rules.empty());
  auto no_types = bad;  // types it cannot read: isolated both ways
  no_types["spec"]["policyTypes"] = "Ingress";
  auto q = k8s::parse_network_policy(no_types);
  EXPECT_EQ(q.error, "spec.policyTypes is not a list");
  EXPECT_TRUE(q.ingress && q.egress);
  k8s::Cluster c;
  c.pods.push_back(k8s::parse_pod(
      {{"metadata", {{"namespace", "x"}, {"name", "a"}}}, {"status", {{"podIP", "10.42.0.1"}}}}));
  c.policies.push_back(p);
  config::Config cfg;
  cfg.rules = k8s::network_policy_rules(c);
  policy::PacketHeaders in;
  in.src = config::parse_prefix("192.0.2.1").prefix->addr;
  in.dst = config::parse_prefix("10.42.0.1").prefix->addr;
  in.proto = 6;
  in.dport = 80;
  EXPECT_EQ(policy::evaluate(cfg, config::Chain::Forward, in).effective(), config::Action::Drop);
  std::swap(in.src, in.dst);
  EXPECT_EQ(policy::evaluate(cfg, config::Chain::Forward, in).effective(), config::Action::Drop);
}

TEST(K8sObjects, MalformedFieldsAreNamed) {
  auto error_of = [](auto parse, const json& j) -> std::string {
    try {
      parse(j);
    } catch (const k8s::ObjectError& e) {
      return e.what();
    }
    return "";
  };
  json pod = {{"metadata", {{"namespace", "x"}, {"name", "a"}}},
              {"status", {{"podIPs", {{{"ip", "10.42.0.300"}}}}}}};
  EXPECT_EQ(error_of(k8s::parse_pod, pod),
            "status.podIPs[].ip \"10.42.0.300\" is not an IP address");
  pod["status"] = {{"podIP", "10.42.0.3"}};
  pod["spec"] = {{"containers", {{{"ports", {{{"name", "web"}, {"containerPort", 70000}}}}}}}};
  EXPECT_EQ(error_of(k8s::parse_pod, pod),
            "spec.containers[0].ports[0].containerPort is not a port number (1-65535)");
  EXPECT_EQ(error_of(k8s::parse_pod, json{{"metadata", {{"namespace", "x"}}}}),
            "metadata.name is missing");
  EXPECT_EQ(error_of(k8s::parse_node, json{{"metadata", {{"name", "n1"}}},
                                           {"spec", {{"podCIDRs", {"10.42.1.0/33"}}}}})
                .rfind("spec.podCIDRs \"10.42.1.0/33\"", 0),
            0u);
  auto node = k8s::parse_node({{"metadata", {{"name", "n1"}}},
                               {"spec", {{"podCIDR", "10.42.1.0/24"}}},
                               {"status",
                                {{"addresses",
                                  {{{"type", "Hostname"}, {"address", "n1"}},
                                   {{"type", "InternalIP"}, {"address", "192.0.2.11"}}}}}}});
  ASSERT_EQ(node.pod_cidrs.size(), 1u);
  EXPECT_EQ(node.pod_cidrs[0].to_string(), "10.42.1.0/24");
  ASSERT_EQ(node.internal_addrs.size(), 1u);
  EXPECT_EQ(node.internal_addrs[0].to_string(), "192.0.2.11");
  json policy = {{"metadata", {{"namespace", "x"}, {"name", "p"}}},
                 {"spec",
                  {{"podSelector", json::object()},
                   {"ingress", {{{"ports", {{{"port", 90}, {"endPort", 80}}}}}}}}}};
  EXPECT_EQ(k8s::parse_network_policy(policy).error,
            "spec.ingress[0].ports[0].endPort is below port");
  policy["spec"]["ingress"] = {
      {{"from", {{{"ipBlock", {{"cidr", "10.0.0.0/8"}, {"except", {"11.0.0.0/16"}}}}}}}}};
  EXPECT_EQ(k8s::parse_network_policy(policy).error,
            "spec.ingress[0].from[0].ipBlock.except 11.0.0.0/16 is not inside 10.0.0.0/8");
}

}  // namespace
