#include "k8s/objects.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace sluice::k8s {

namespace {

using nlohmann::json;

const json* member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::string text(const json& j, const char* key, const std::string& where) {
  const auto* v = member(j, key);
  if (!v) return "";
  if (!v->is_string()) throw ObjectError(where + "." + key + " is not a string");
  return v->get<std::string>();
}

const json& object_at(const json& j, const char* key, const std::string& where) {
  static const json empty = json::object();
  const auto* v = member(j, key);
  if (!v) return empty;
  if (!v->is_object()) throw ObjectError(where + "." + key + " is not an object");
  return *v;
}

const json& array_at(const json& j, const char* key, const std::string& where) {
  static const json empty = json::array();
  const auto* v = member(j, key);
  if (!v) return empty;
  if (!v->is_array()) throw ObjectError(where + "." + key + " is not a list");
  return *v;
}

Labels labels_at(const json& j, const char* key, const std::string& where) {
  Labels out;
  for (const auto& [k, v] : object_at(j, key, where).items()) {
    if (!v.is_string()) throw ObjectError(where + "." + key + "." + k + " is not a string");
    out[k] = v.get<std::string>();
  }
  return out;
}

struct Meta {
  std::string name_space, name;
  Labels labels;
};

Meta metadata(const json& object) {
  if (!object.is_object()) throw ObjectError("the object is not a JSON object");
  const auto& m = object_at(object, "metadata", "");
  Meta out{text(m, "namespace", "metadata"), text(m, "name", "metadata"),
           labels_at(m, "labels", "metadata")};
  if (out.name.empty()) throw ObjectError("metadata.name is missing");
  return out;
}

config::Prefix address(const std::string& s, const std::string& where) {
  auto parsed = config::parse_prefix(s);
  if (!parsed.prefix || parsed.prefix->length != parsed.prefix->max_length())
    throw ObjectError(where + " \"" + s + "\" is not an IP address");
  return *parsed.prefix;
}

config::Prefix network(const std::string& s, const std::string& where) {
  auto parsed = config::parse_prefix(s);
  if (!parsed.prefix) throw ObjectError(where + " \"" + s + "\": " + parsed.error);
  return *parsed.prefix;
}

config::Protocol protocol(const json& j, const std::string& where) {
  auto p = text(j, "protocol", where);
  if (p.empty() || p == "TCP") return config::Protocol::Tcp;
  if (p == "UDP") return config::Protocol::Udp;
  if (p == "SCTP") return config::Protocol::Sctp;
  throw ObjectError(where + ".protocol \"" + p + "\" is not TCP, UDP or SCTP");
}

std::uint16_t port_number(const json& v, const std::string& where) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 65535)
    throw ObjectError(where + " is not a port number (1-65535)");
  return static_cast<std::uint16_t>(v.get<std::int64_t>());
}

void add_unique(std::vector<config::Prefix>& to, const config::Prefix& p) {
  if (std::find(to.begin(), to.end(), p) == to.end()) to.push_back(p);
}

}  // namespace

bool LabelSelector::matches(const Labels& labels) const {
  for (const auto& [k, v] : match_labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const auto& e : expressions) {
    auto it = labels.find(e.key);
    bool in = it != labels.end() &&
              std::find(e.values.begin(), e.values.end(), it->second) != e.values.end();
    switch (e.op) {
      case LabelRequirement::Operator::In:
        if (!in) return false;
        break;
      case LabelRequirement::Operator::NotIn:  // also true without the label
        if (in) return false;
        break;
      case LabelRequirement::Operator::Exists:
        if (it == labels.end()) return false;
        break;
      case LabelRequirement::Operator::DoesNotExist:
        if (it != labels.end()) return false;
        break;
    }
  }
  return true;
}

namespace {

LabelSelector selector(const json& j, const std::string& where) {
  if (!j.is_object()) throw ObjectError(where + " is not an object");
  LabelSelector out;
  out.match_labels = labels_at(j, "matchLabels", where);
  const auto& exprs = array_at(j, "matchExpressions", where);
  for (std::size_t i = 0; i < exprs.size(); ++i) {
    auto at = where + ".matchExpressions[" + std::to_string(i) + "]";
    LabelRequirement r;
    r.key = text(exprs[i], "key", at);
    if (r.key.empty()) throw ObjectError(at + ".key is missing");
    auto op = text(exprs[i], "operator", at);
    if (op == "In")
      r.op = LabelRequirement::Operator::In;
    else if (op == "NotIn")
      r.op = LabelRequirement::Operator::NotIn;
    else if (op == "Exists")
      r.op = LabelRequirement::Operator::Exists;
    else if (op == "DoesNotExist")
      r.op = LabelRequirement::Operator::DoesNotExist;
    else
      throw ObjectError(at + ".operator \"" + op + "\" is not In, NotIn, Exists or DoesNotExist");
    for (const auto& v : array_at(exprs[i], "values", at)) {
      if (!v.is_string()) throw ObjectError(at + ".values has an entry that is not a string");
      r.values.push_back(v.get<std::string>());
    }
    bool takes_values =
        r.op == LabelRequirement::Operator::In || r.op == LabelRequirement::Operator::NotIn;
    if (takes_values == r.values.empty())
      throw ObjectError(
          at + (takes_values ? ": " + op + " needs values" : ": " + op + " takes no values"));
    out.expressions.push_back(std::move(r));
  }
  return out;
}

PolicyPeer peer(const json& j, const std::string& where) {
  if (!j.is_object()) throw ObjectError(where + " is not an object");
  PolicyPeer out;
  if (const auto* s = member(j, "podSelector")) out.pods = selector(*s, where + ".podSelector");
  if (const auto* s = member(j, "namespaceSelector"))
    out.namespaces = selector(*s, where + ".namespaceSelector");
  if (const auto* b = member(j, "ipBlock")) {
    auto at = where + ".ipBlock";
    if (out.pods || out.namespaces)
      throw ObjectError(where + ": ipBlock cannot be combined with selectors");
    IpBlock block{network(text(*b, "cidr", at), at + ".cidr"), {}};
    for (const auto& e : array_at(*b, "except", at)) {
      if (!e.is_string()) throw ObjectError(at + ".except has an entry that is not a string");
      auto p = network(e.get<std::string>(), at + ".except");
      if (!block.cidr.contains(p) || p == block.cidr)
        throw ObjectError(at + ".except " + p.to_string() + " is not inside " +
                          block.cidr.to_string());
      block.except.push_back(p);
    }
    out.block = std::move(block);
  }
  if (!out.pods && !out.namespaces && !out.block)
    throw ObjectError(where + " has none of podSelector, namespaceSelector, ipBlock");
  return out;
}

PolicyPort policy_port(const json& j, const std::string& where) {
  if (!j.is_object()) throw ObjectError(where + " is not an object");
  PolicyPort out;
  out.proto = protocol(j, where);
  if (const auto* p = member(j, "port")) {
    if (p->is_string()) {
      out.named = p->get<std::string>();
      if (out.named.empty()) throw ObjectError(where + ".port is an empty name");
    } else {
      out.port = port_number(*p, where + ".port");
    }
  }
  if (const auto* e = member(j, "endPort")) {
    out.end_port = port_number(*e, where + ".endPort");
    if (!out.port) throw ObjectError(where + ".endPort needs a numeric port");
    if (*out.end_port < *out.port) throw ObjectError(where + ".endPort is below port");
  }
  return out;
}

std::vector<PolicyRule> policy_rules(const json& spec, const char* key, const char* peers_key) {
  std::vector<PolicyRule> out;
  const auto& rules = array_at(spec, key, "spec");
  for (std::size_t i = 0; i < rules.size(); ++i) {
    auto at = std::string("spec.") + key + "[" + std::to_string(i) + "]";
    if (!rules[i].is_object()) throw ObjectError(at + " is not an object");
    PolicyRule r;
    const auto& peers = array_at(rules[i], peers_key, at);
    for (std::size_t p = 0; p < peers.size(); ++p)
      r.peers.push_back(peer(peers[p], at + "." + peers_key + "[" + std::to_string(p) + "]"));
    const auto& ports = array_at(rules[i], "ports", at);
    for (std::size_t p = 0; p < ports.size(); ++p)
      r.ports.push_back(policy_port(ports[p], at + ".ports[" + std::to_string(p) + "]"));
    out.push_back(std::move(r));
  }
  return out;
}

// policyTypes; when absent (the API server fills it in), Ingress always
// and Egress when the policy has egress rules.
void policy_types(const json& spec, NetworkPolicy& p) {
  const auto* types = member(spec, "policyTypes");
  if (!types) {
    p.ingress = true;
    p.egress = !array_at(spec, "egress", "spec").empty();
    return;
  }
  if (!types->is_array()) throw ObjectError("spec.policyTypes is not a list");
  p.ingress = p.egress = false;
  for (const auto& t : *types) {
    if (t == "Ingress")
      p.ingress = true;
    else if (t == "Egress")
      p.egress = true;
    else
      throw ObjectError("spec.policyTypes has \"" + t.dump() + "\", not Ingress or Egress");
  }
}

}  // namespace

Pod parse_pod(const json& object) {
  auto m = metadata(object);
  Pod out{m.name_space, m.name, "", m.labels, {}, {}, false, false};
  const auto& spec = object_at(object, "spec", "");
  const auto& status = object_at(object, "status", "");
  out.node = text(spec, "nodeName", "spec");
  if (const auto* h = member(spec, "hostNetwork"))
    out.host_network = h->is_boolean() && h->get<bool>();
  auto phase = text(status, "phase", "status");
  out.finished = phase == "Succeeded" || phase == "Failed";
  for (const auto& ip : array_at(status, "podIPs", "status"))
    add_unique(out.addresses, address(text(ip, "ip", "status.podIPs[]"), "status.podIPs[].ip"));
  if (auto single = text(status, "podIP", "status"); !single.empty())
    add_unique(out.addresses, address(single, "status.podIP"));
  const auto& containers = array_at(spec, "containers", "spec");
  for (std::size_t c = 0; c < containers.size(); ++c) {
    auto at = "spec.containers[" + std::to_string(c) + "]";
    const auto& ports = array_at(containers[c], "ports", at);
    for (std::size_t p = 0; p < ports.size(); ++p) {
      auto pat = at + ".ports[" + std::to_string(p) + "]";
      auto name = text(ports[p], "name", pat);
      if (name.empty()) continue;  // only named ports matter to policy
      const auto* number = member(ports[p], "containerPort");
      if (!number) throw ObjectError(pat + ".containerPort is missing");
      out.ports.push_back(
          {name, protocol(ports[p], pat), port_number(*number, pat + ".containerPort")});
    }
  }
  return out;
}

Namespace parse_namespace(const json& object) {
  auto m = metadata(object);
  Namespace out{m.name, m.labels};
  // Set by the API server since Kubernetes 1.21; policies select by it.
  out.labels.emplace("kubernetes.io/metadata.name", m.name);
  return out;
}

Node parse_node(const json& object) {
  auto m = metadata(object);
  Node out{m.name, {}, {}};
  const auto& spec = object_at(object, "spec", "");
  for (const auto& c : array_at(spec, "podCIDRs", "spec")) {
    if (!c.is_string()) throw ObjectError("spec.podCIDRs has an entry that is not a string");
    add_unique(out.pod_cidrs, network(c.get<std::string>(), "spec.podCIDRs"));
  }
  if (auto single = text(spec, "podCIDR", "spec"); !single.empty())
    add_unique(out.pod_cidrs, network(single, "spec.podCIDR"));
  for (const auto& a : array_at(object_at(object, "status", ""), "addresses", "status"))
    if (text(a, "type", "status.addresses[]") == "InternalIP")
      add_unique(out.internal_addrs,
                 address(text(a, "address", "status.addresses[]"), "status.addresses[].address"));
  return out;
}

NetworkPolicy parse_network_policy(const json& object) {
  auto m = metadata(object);
  if (m.name_space.empty()) throw ObjectError("metadata.namespace is missing");
  NetworkPolicy out;
  out.name_space = m.name_space;
  out.name = m.name;
  bool types_read = false;
  try {
    const auto& spec = object_at(object, "spec", "");
    policy_types(spec, out);
    types_read = true;
    const auto* pods = member(spec, "podSelector");
    out.pods = pods ? selector(*pods, "spec.podSelector") : LabelSelector{};
    out.ingress_rules = policy_rules(spec, "ingress", "from");
    out.egress_rules = policy_rules(spec, "egress", "to");
  } catch (const ObjectError& e) {
    out.error = e.what();
    if (!types_read) out.ingress = out.egress = true;
    out.pods = {};
    out.ingress_rules.clear();
    out.egress_rules.clear();
  }
  return out;
}

}  // namespace sluice::k8s
