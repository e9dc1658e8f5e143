#include "config/describe.h"

namespace sluice::config {

std::string describe_endpoint(const Endpoint& ep) {
  if (ep.any) return "any";
  std::string s;
  if (!ep.spelling.empty()) {
    for (const auto& w : ep.spelling) s += (s.empty() ? "" : ", ") + w;
    return s;
  }
  for (const auto& p : ep.prefixes) s += (s.empty() ? "" : ", ") + p.to_string();
  return s;
}

std::string describe_match(const Rule& r) {
  std::string s = to_string(r.proto);
  if (r.icmp_type) s += " type " + std::to_string(*r.icmp_type);
  if (!r.ports.empty()) {
    s += " ";
    for (std::size_t i = 0; i < r.ports.size(); ++i) {
      if (i) s += ",";
      s += std::to_string(r.ports[i].first);
      if (r.ports[i].last != r.ports[i].first) s += "-" + std::to_string(r.ports[i].last);
    }
  }
  // Interfaces named by key (a zone of interfaces shows in from/to).
  auto names = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& n : v) out += (out.empty() ? "" : ",") + n;
    return out;
  };
  if (!r.in_interfaces.empty() && r.from.interfaces.empty()) s += " in " + names(r.in_interfaces);
  if (!r.out_interfaces.empty() && r.to.interfaces.empty()) s += " out " + names(r.out_interfaces);
  return s;
}

std::string describe_rule(const Rule& r) {
  return std::string(to_string(r.chain)) + ": " + describe_endpoint(r.from) + " -> " +
         describe_endpoint(r.to) + " " + describe_match(r) + " " + to_string(r.action) +
         (r.audit ? " (audit)" : "") + (r.log ? " log" : "");
}

std::string describe_nat(const Masquerade& m) {
  return "masquerade " + describe_endpoint(m.from) + " out " + m.out_interface;
}

std::string describe_nat(const PortForward& f) {
  // A host address prints without a length.
  std::string to = f.to.family == Family::V6 ? "[" + f.to.to_string() + "]" : f.to.to_string();
  return std::string("forward ") + to_string(f.proto) + " " + std::to_string(f.port) + " on " +
         f.in_interface + " to " + to + ":" + std::to_string(f.to_port);
}

}  // namespace sluice::config
